#!/usr/bin/env node
// Writes the 3,000 labelled review sentences that ship in the npm package `sentiment` (its test
// fixtures: 1,000 each from Amazon, IMDB and Yelp; the UCI "Sentiment Labelled Sentences" set) as JSON
// lines next to the request, split once, reproducibly, into
//   data/reviews-train.jsonl    2,400 rows the request trains on
//   data/reviews-heldout.jsonl    600 rows the system never sees (score the served model on them)
// Real data, not generated.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const fixtures = join(dirname(require.resolve('sentiment/package.json')), 'test', 'fixtures');
const rows = [];
for (const source of ['amazon', 'imdb', 'yelp']) {
  for (const r of JSON.parse(readFileSync(join(fixtures, `${source}.json`), 'utf8'))) {
    if (typeof r.text === 'string' && r.text.trim() && (r.class === 0 || r.class === 1)) {
      rows.push({ text: r.text.trim(), label: r.class === 1 ? 'positive' : 'negative', source });
    }
  }
}
// Deterministic shuffle (mulberry32), then 80/20.
let seed = 20261203;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
for (let i = rows.length - 1; i > 0; i -= 1) {
  const j = Math.floor(random() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const cut = Math.round(rows.length * 0.8);
const out = join(dirname(fileURLToPath(import.meta.url)), 'data');
mkdirSync(out, { recursive: true });
const write = (name, part) => writeFileSync(join(out, name), `${part.map((r) => JSON.stringify(r)).join('\n')}\n`);
write('reviews-train.jsonl', rows.slice(0, cut));
write('reviews-heldout.jsonl', rows.slice(cut));
process.stderr.write(`Wrote ${cut} training and ${rows.length - cut} held-out review sentences to ${out}\n`);
