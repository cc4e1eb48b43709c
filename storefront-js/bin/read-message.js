#!/usr/bin/env node
// Reads one message (JSON on standard input) the way the storefront does, as an answer to
// order.place or as a listing state record, and prints what it understood; exits 1 if it cannot.
// The Pact consumer tests run it on every message they expect.
import fs from 'node:fs';
import { loadContract } from '../src/contract.js';
import { readAnswer, readListingState } from '../src/messages.js';

try {
  const message = JSON.parse(fs.readFileSync(0, 'utf8'));
  const contract = await loadContract();
  const read = message.type === 'listing.state' ? readListingState(message) : readAnswer(contract.command('order.place'), message);
  console.log(JSON.stringify(read));
} catch (error) {
  console.error(`storefront: ${error.message}`);
  process.exit(1);
}
