#!/usr/bin/env node
// Reads messages the way the storefront does, as an answer to order.place or as a listing state
// record: one JSON message per line on standard input, one line out for each,
// {"ok": true, "read": ...} or {"ok": false, "error": "..."}. The Pact consumer tests run it on every
// message they expect.
import readline from 'node:readline';
import { loadContract } from '../src/contract.js';
import { readAnswer, readListingState } from '../src/messages.js';

const place = (await loadContract()).command('order.place');
for await (const line of readline.createInterface({ input: process.stdin })) {
  try {
    const message = JSON.parse(line);
    const read = message.type === 'listing.state' ? readListingState(message) : readAnswer(place, message);
    console.log(JSON.stringify({ ok: true, read }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: error.message }));
  }
}
