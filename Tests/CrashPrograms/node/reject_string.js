#!/usr/bin/env node
// A promise rejected with a plain string (not an Error): Node wraps it in its own
// UnhandledPromiseRejection error, with no frame of ours.
'use strict';

// REBUILD-PADDING

function connect(host) {
  return new Promise((resolve, reject) => setTimeout(() => reject(`connection to ${host} reset`), 5));
}

console.log('db: connecting');
connect('db-3.internal');
