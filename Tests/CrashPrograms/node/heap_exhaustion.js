#!/usr/bin/env -S node --max-old-space-size=24
// A cache that never evicts, in a 24 MB heap: V8 gives up with "FATAL ERROR: … JavaScript heap
// out of memory" and a native stack, and the process dies of SIGABRT.
'use strict';

// REBUILD-PADDING

const cache = new Map();

function remember(key) {
  cache.set(key, { key, payload: 'x'.repeat(1024) + key });
}

console.log('cache: warming');
for (let key = 0; ; key++) remember(key);
