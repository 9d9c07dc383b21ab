#!/usr/bin/env node
// A server reads its port from a config section that is missing: TypeError, uncaught, printed
// with the source line and a caret above the error and the "Node.js v…" banner below it.
'use strict';

// REBUILD-PADDING

function listenPort(config) {
  return config.server.port;
}

function start(config) {
  console.log('server: starting');
  return listenPort(config);
}

start({ workers: 4 });
