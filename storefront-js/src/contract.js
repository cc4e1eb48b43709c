// Everything this storefront knows about the services comes from the published AsyncAPI document:
// which topic takes a command, how its key is made, which topic and message types answer it, and
// where the state of listings is published. Nothing here is copied from the services' code.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DOCUMENT = path.resolve(here, '../../docs/asyncapi.json');

export async function loadContract(file = process.env.CONTRACT_ASYNCAPI || DEFAULT_DOCUMENT) {
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, 'utf8'));
  if (!document) {
    const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('/')}: ${d.message}`);
    throw new Error(`the AsyncAPI document ${file} is not valid:\n${errors.join('\n')}`);
  }
  return new Contract(document);
}

function keyOf(message) {
  const key = message.bindings().get('kafka')?.value()?.key ?? {};
  return { fields: key['x-key-fields'] ?? [], pattern: key.pattern ? new RegExp(key.pattern) : null, description: key.description };
}

export class Contract {
  constructor(document) {
    this.document = document;
  }

  // Where a command goes and how it is answered: the operation that receives it, and its reply.
  command(type) {
    for (const operation of this.document.operations()) {
      const message = operation.messages().all().find((m) => m.name() === type);
      if (!message || !operation.reply()) continue;
      const reply = operation.reply();
      return {
        topic: operation.channels().all()[0].address(),
        key: keyOf(message),
        answerTopic: reply.channel().address(),
        answerTypes: reply.messages().all().map((m) => m.name()),
      };
    }
    throw new Error(`the contract has no operation that takes ${type}`);
  }

  // The compacted topic that carries a state record type, and how its records are keyed.
  state(type) {
    for (const channel of this.document.channels()) {
      const message = channel.messages().all().find((m) => m.name() === type);
      if (!message) continue;
      const policy = channel.bindings().get('kafka')?.value()?.topicConfiguration?.['cleanup.policy'] ?? [];
      if (!policy.includes('compact')) throw new Error(`${channel.address()} is not a compacted state topic`);
      return { topic: channel.address(), key: keyOf(message) };
    }
    throw new Error(`the contract has no topic carrying ${type}`);
  }
}

export function makeKey(key, message) {
  const value = key.fields.map((field) => message[field]).join('/');
  if (key.pattern && !key.pattern.test(value)) throw new Error(`key ${JSON.stringify(value)} is not a ${key.description}`);
  return value;
}
