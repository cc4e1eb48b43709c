#!/usr/bin/env node
// CI: the AsyncAPI document must parse with the AsyncAPI project's own parser, without errors.
import fs from 'node:fs';
import { Parser } from '@asyncapi/parser';

const file = process.argv[2];
const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, 'utf8'));
const severities = ['error', 'warning', 'info', 'hint'];
for (const d of diagnostics) console.log(`${severities[d.severity]} ${d.code} ${d.path.join('/')}: ${d.message}`);
const errors = diagnostics.filter((d) => d.severity === 0).length;
if (!document || errors) {
  console.error(`${file}: ${errors} errors`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}, ${document.operations().length} operations, ${document.channels().length} channels`);
