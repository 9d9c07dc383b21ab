#!/usr/bin/env node
// An async job fails and nobody awaits it: Node's default unhandled-rejection mode (throw)
// prints the Error and exits 1.
'use strict';

// REBUILD-PADDING

async function fetchQuote(symbol) {
  await null;
  throw new Error(`quote service refused ${symbol}: 503`);
}

console.log('quotes: polling');
fetchQuote('ACME');
