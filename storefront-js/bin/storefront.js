#!/usr/bin/env node
// The storefront's command line. Settings: KAFKA_BOOTSTRAP_SERVERS (127.0.0.1:19092), TOPIC_PREFIX,
// STOREFRONT_ID (storefront-js), CONTRACT_ASYNCAPI (../docs/asyncapi.json).
//
//   storefront place ORDER_ID SELLER_ID LISTING:QTY [LISTING:QTY...]   place an order, print its answer
//   storefront place-all FILE        place every order in a JSON file ([{order_id, seller_id, lines: [[listing, qty]]}]), one answer a line
//   storefront listings              print the current state of every listing, one a line
import fs from 'node:fs';
import { loadContract } from '../src/contract.js';
import { Storefront } from '../src/storefront.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const [command, ...args] = process.argv.slice(2);
const usage = 'usage: storefront place ORDER_ID SELLER_ID LISTING:QTY... | place-all FILE | listings';

async function main() {
  const contract = await loadContract();
  const storefront = new Storefront(contract, {
    brokers: (process.env.KAFKA_BOOTSTRAP_SERVERS || '127.0.0.1:19092').split(','),
    prefix: process.env.TOPIC_PREFIX || '',
    storefrontId: process.env.STOREFRONT_ID || 'storefront-js',
  });
  try {
    if (command === 'listings') {
      await storefront.start();
      for (const record of (await storefront.listings()).values()) console.log(JSON.stringify(record));
    } else if (command === 'place' && args.length >= 3) {
      const [orderId, sellerId, ...lines] = args;
      await storefront.start();
      const answer = await storefront.placeOrder({ orderId, sellerId, lines: lines.map(parseLine) });
      console.log(JSON.stringify(answer));
    } else if (command === 'place-all' && args.length === 1) {
      const orders = JSON.parse(fs.readFileSync(args[0], 'utf8'));
      await storefront.start();
      const answers = await Promise.all(orders.map((o) => storefront.placeOrder({ orderId: o.order_id, sellerId: o.seller_id, lines: o.lines })));
      for (const answer of answers) console.log(JSON.stringify(answer));
    } else {
      console.error(usage);
      process.exitCode = 2;
    }
  } finally {
    await storefront.stop();
  }
}

function parseLine(text) {
  const [listing, quantity] = text.split(':');
  if (!listing || !/^[0-9]+$/.test(quantity ?? '')) throw new Error(`a line is LISTING:QUANTITY, not ${text}`);
  return [listing, Number(quantity)];
}

main().catch((error) => {
  console.error(`storefront: ${error.message}`);
  process.exit(1);
});
