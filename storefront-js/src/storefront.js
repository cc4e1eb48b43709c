// A storefront: places orders, finds the one answer to each (by command_id, among the answer types
// the contract names), and reads the current state of listings from their compacted topic.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { makeKey } from './contract.js';
import { readAnswer, readListingState } from './messages.js';

export class Storefront {
  constructor(contract, { brokers, prefix = '', storefrontId, clientId = 'storefront-js' }) {
    this.contract = contract;
    this.prefix = prefix;
    this.storefrontId = storefrontId;
    this.kafka = new Kafka({ clientId, brokers, logLevel: logLevel.WARN });
    this.place = contract.command('order.place');
    this.pending = new Map(); // command_id -> resolve
  }

  async start() {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    // Subscribed before the first command is sent, from the beginning, in a group of its own: no
    // answer can be missed. Answers to other storefronts' commands are skipped by command_id.
    this.answers = this.kafka.consumer({ groupId: `${this.prefix}storefront-js.${this.storefrontId}.${randomUUID()}` });
    await this.answers.connect();
    await this.answers.subscribe({ topic: this.prefix + this.place.answerTopic, fromBeginning: true });
    await this.answers.run({
      eachMessage: async ({ message }) => {
        let answer;
        try {
          answer = JSON.parse(message.value.toString());
        } catch {
          return; // not JSON: not an answer this storefront can use
        }
        const waiting = this.pending.get(answer.command_id);
        if (waiting && this.place.answerTypes.includes(answer.type)) {
          this.pending.delete(answer.command_id);
          try {
            readAnswer(this.place, answer); // an answer without what this storefront needs is an error
            waiting.resolve(answer);
          } catch (error) {
            waiting.reject(error);
          }
        }
      },
    });
  }

  async stop() {
    await Promise.allSettled([this.producer?.disconnect(), this.answers?.disconnect()]);
  }

  // Sends one order.place and resolves with its answer: order.accepted, order.rejected or command.rejected.
  async placeOrder({ orderId, sellerId, lines, commandId = randomUUID() }, timeoutMs = 60_000) {
    const command = {
      type: 'order.place',
      command_id: commandId,
      storefront_id: this.storefrontId,
      order_id: orderId,
      seller_id: sellerId,
      placed_at: new Date().toISOString(),
      lines: lines.map(([listingId, quantity]) => ({ listing_id: listingId, quantity })),
    };
    const answered = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${commandId} within ${timeoutMs} ms`)), timeoutMs);
      const done = (settle) => (value) => {
        clearTimeout(timer);
        settle(value);
      };
      this.pending.set(commandId, { resolve: done(resolve), reject: done(reject) });
    });
    await this.producer.send({
      topic: this.prefix + this.place.topic,
      messages: [{ key: makeKey(this.place.key, command), value: JSON.stringify(command) }],
    });
    return answered;
  }

  // The latest listing.state of every listing, read from the beginning of the state topic up to its
  // end when the call started: a compacted topic keeps at least the last record of each key.
  async listings() {
    const state = this.contract.state('listing.state');
    const topic = this.prefix + state.topic;
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const remaining = new Map(ends.filter((p) => Number(p.high) > 0).map((p) => [p.partition, Number(p.high)]));
    const latest = new Map();
    const unreadable = [];
    if (remaining.size === 0) return latest;
    const reader = this.kafka.consumer({ groupId: `${this.prefix}storefront-js.listings.${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve) => {
      reader.run({
        eachMessage: async ({ partition, message }) => {
          try {
            const record = JSON.parse(message.value.toString());
            readListingState(record); // a record without what this storefront needs is an error
            latest.set(message.key.toString(), record);
          } catch (error) {
            unreadable.push(`${topic}/${partition}@${message.offset}: ${error.message}`);
          }
          if (Number(message.offset) + 1 >= remaining.get(partition)) remaining.delete(partition);
          if (remaining.size === 0) resolve();
        },
      });
    });
    await reader.disconnect();
    if (unreadable.length) throw new Error(`unreadable listing state records:\n${unreadable.join('\n')}`);
    return latest;
  }
}
