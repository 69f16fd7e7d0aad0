#!/usr/bin/env node
// Scores a served model on labelled rows it never saw, through the KServe v2 endpoint:
//   node examples/reviews-sentiment/score-heldout.mjs [URL] [FILE]
// URL defaults to http://127.0.0.1:8000/v2/models/reviews-sentiment, FILE to data/reviews-heldout.jsonl.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.argv[2] ?? 'http://127.0.0.1:8000/v2/models/reviews-sentiment';
const file = process.argv[3] ?? join(dirname(fileURLToPath(import.meta.url)), 'data', 'reviews-heldout.jsonl');
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
let correct = 0;
for (let i = 0; i < rows.length; i += 32) {
  const batch = rows.slice(i, i + 32);
  const response = await fetch(`${url}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [batch.length, 1], data: batch.map((r) => r.text) }] }),
  });
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  const body = await response.json();
  const labels = body.outputs.find((o) => o.name === 'label').data;
  correct += batch.filter((r, k) => r.label === labels[k]).length;
}
const accuracy = correct / rows.length;
// Wilson 95% interval of the held-out accuracy.
const n = rows.length, z = 1.96, centre = (accuracy + (z * z) / (2 * n)) / (1 + (z * z) / n);
const half = (z / (1 + (z * z) / n)) * Math.sqrt((accuracy * (1 - accuracy)) / n + (z * z) / (4 * n * n));
process.stdout.write(`${JSON.stringify({ rows: n, correct, accuracy: Number(accuracy.toFixed(4)), interval95: [Number((centre - half).toFixed(4)), Number((centre + half).toFixed(4))] })}\n`);
