#!/usr/bin/env node
// Generates the paper's product-promotion data: short marketing texts labelled "benefit" when they
// offer the customer something (a discount, free item, cashback, coupon, points, financing, a price
// drop or a free trial) and "no-benefit" otherwise. The data is GENERATED (no public data set of
// this kind ships in a package): seeded, so every run writes the same files.
//
//   node examples/promotions/generate-data.mjs
//
// Files (examples/promotions/data/): labelled-30.jsonl, labelled-100.jsonl (a few labels wrong on
// purpose, as in the paper), unlabelled-1000.jsonl, test-400.jsonl (a clean held-out set).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const products = ['wireless earbuds', 'running shoes', 'yoga mat', 'espresso machine', 'winter jacket', 'smartwatch', 'hiking backpack', 'air fryer', 'desk lamp', 'skincare set', 'gaming mouse', 'mechanical keyboard', 'linen sheets', 'water bottle', 'robot vacuum', 'sunglasses', 'leather wallet', 'kids bike', 'blender', 'phone case', 'electric toothbrush', 'office chair', 'camping tent', 'perfume', 'tea sampler', 'cookware set', 'fitness tracker', 'rain boots', 'bluetooth speaker', 'standing desk', 'denim jeans', 'scented candles', 'dog bed', 'baby stroller', 'e-reader', 'trail socks', 'coffee beans', 'face serum', 'travel pillow', 'tablet stand'];
const brands = ['Northwind', 'Lumo', 'Kestrel', 'Aster & Co', 'Brightfield', 'Solace', 'Tidewater', 'Pinecrest', 'Morrow', 'Vela', 'Quillon', 'Harbor Lane', 'Ember', 'Oakhaven', 'Nimbus'];
const pick = (r, list) => list[Math.floor(r() * list.length)];
const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

// Offers: many families, many surface forms, so a model must generalise beyond a few words.
const benefits = [
  (r) => `${int(r, 1, 7) * 10}% off`,
  (r) => `save ${int(r, 10, 60)}%`,
  (r) => `take an extra ${int(r, 5, 30)}% off at checkout`,
  (r) => `markdowns of up to ${int(r, 2, 7) * 10}%`,
  (r) => `$${int(r, 5, 80)} off your order`,
  (r) => `get $${int(r, 5, 50)} back`,
  (r) => `${int(r, 3, 15)}% cashback on every purchase`,
  (r) => `a rebate of $${int(r, 10, 100)}`,
  () => 'free shipping on all orders',
  () => 'a free gift with purchase',
  () => 'a complimentary carrying case',
  () => 'a bonus accessory at no extra cost',
  () => 'buy one, get one free',
  () => 'buy two and get the third on us',
  () => 'the second item at half price',
  (r) => `use code ${pick(r, ['SPRING', 'WELCOME', 'SAVE', 'VIP', 'EXTRA'])}${int(r, 10, 50)} for a discount`,
  (r) => `a voucher worth $${int(r, 5, 40)}`,
  () => 'double reward points this week',
  (r) => `earn ${int(r, 2, 5)}x loyalty points`,
  (r) => `0% interest for ${pick(r, [6, 12, 18, 24])} months`,
  () => 'four interest-free payments',
  (r) => `now only $${int(r, 9, 199)}`,
  (r) => { const was = int(r, 60, 300); return `was $${was}, now $${Math.round(was * (0.5 + r() * 0.3))}`; },
  () => 'our lowest price of the year',
  () => 'clearance prices storewide',
  (r) => `try it free for ${pick(r, [14, 30, 60])} days`,
  () => 'your first month free',
  () => 'a trade-in credit toward your upgrade',
  () => 'members save twice as much',
  () => 'a price match guarantee plus the difference refunded',
];
// No offer: features, news, social proof, care tips. Some reuse offer-like words ("free", numbers).
const neutral = [
  (r) => `${int(r, 8, 40)}-hour battery life`,
  (r) => `water resistant to ${int(r, 3, 10) * 10} meters`,
  () => 'made with recycled materials',
  (r) => `designed in ${pick(r, ['Copenhagen', 'Kyoto', 'Portland', 'Milan', 'Oslo'])}`,
  () => 'now available in three new colors',
  () => 'back in stock',
  () => 'launching this spring',
  () => 'visit our flagship store downtown',
  (r) => `rated ${(4 + r()).toFixed(1)} stars by ${int(r, 2, 90) * 100} customers`,
  () => 'a hands-free design for busy mornings',
  () => 'BPA-free and dishwasher safe',
  () => 'gluten-free and vegan ingredients',
  () => 'a limited edition colorway',
  () => 'award-winning comfort',
  () => 'ethically sourced and fair trade',
  (r) => `${int(r, 2, 5)} sizes to choose from`,
  () => 'a lightweight frame you will barely notice',
  () => 'tested by professional athletes',
  () => 'crafted by hand in small batches',
  () => 'a two-year warranty as standard',
  () => 'new arrivals every Friday',
  () => 'a quieter motor than ever before',
  (r) => `compatible with ${pick(r, ['iOS and Android', 'every major browser', 'standard outlets', 'most strollers'])}`,
  () => 'care tips inside the box',
  () => 'as seen in our autumn lookbook',
  () => 'soft, breathable, and built to last',
  () => 'the same trusted formula since 1998',
  () => 'sizes for the whole family',
  () => 'restocked in our online store',
  () => 'engineered for all-day support',
];
const openers = [
  (r, p, b) => `${b} ${p}:`,
  (r, p) => `Meet the new ${p} —`,
  (r, p) => `Our ${p} is here, with`,
  (r, p, b) => `${b} presents the ${p} with`,
  (r, p) => `This week only, the ${p} comes with`,
  (r, p) => `Upgrade your routine: the ${p} features`,
  (r, p, b) => `From ${b}: a ${p} with`,
  (r, p) => `Spotlight on the ${p}, now with`,
];
const closers = ['Shop now.', "Don't miss out!", 'Available online and in stores.', 'Limited time only.', 'Perfect for weekend adventures.', 'Tap to learn more.', '', 'While supplies last.', 'Order today.'];

/** One promotion text and its true label. */
function promotion(r) {
  const benefit = r() < 0.5;
  const product = pick(r, products);
  const brand = pick(r, brands);
  const main = benefit ? pick(r, benefits)(r) : pick(r, neutral)(r);
  const extra = r() < 0.1 ? ` and ${pick(r, neutral)(r)}` : '';
  const text = `${pick(r, openers)(r, product, brand)} ${main}${extra}. ${pick(r, closers)}`.replace(/\s+/g, ' ').trim();
  return { text, label: benefit ? 'benefit' : 'no-benefit' };
}

function rows(seed, count, { flip = 0, labelled = true } = {}) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const row = promotion(r);
    if (flip && i % Math.round(count / flip) === 3) row.label = row.label === 'benefit' ? 'no-benefit' : 'benefit';
    out.push(labelled ? row : { text: row.text });
  }
  return out;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'data');
mkdirSync(dir, { recursive: true });
const write = (name, data) => writeFileSync(join(dir, name), `${data.map((d) => JSON.stringify(d)).join('\n')}\n`);
write('labelled-30.jsonl', rows(1, 30));
write('labelled-100.jsonl', rows(2, 100, { flip: 5 }));
write('unlabelled-1000.jsonl', rows(3, 1000, { labelled: false }));
write('test-400.jsonl', rows(4, 400));
process.stderr.write(`Wrote generated promotions to ${dir}\n`);
