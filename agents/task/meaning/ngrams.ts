/** A sparse, unit-length vector of character n-gram weights. */
export type SparseVector = Map<string, number>;

/** Character 1–3-grams of CJK runs and 2–4-grams of other words: lexical evidence in any script. */
export function charNgrams(text: string): string[] {
  const clean = text.normalize('NFKC').toLowerCase().replace(/[\d.,%]+/g, ' 0 ').replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  const grams: string[] = [];
  for (const word of clean.split(' ')) {
    if (!word) continue;
    const cjk = /[\u3040-\u30ff\u4e00-\u9fff]/.test(word);
    const padded = cjk ? word : ` ${word} `;
    const [min, max] = cjk ? [1, 3] : [2, 4];
    for (let n = min; n <= max; n += 1) {
      for (let i = 0; i + n <= padded.length; i += 1) grams.push(padded.slice(i, i + n));
    }
  }
  return grams;
}

/** Inverse document frequencies of n-grams over a corpus (smoothed, so unseen grams weigh most). */
export function idfOf(corpus: readonly string[]): { idf: Map<string, number>; unseen: number } {
  const df = new Map<string, number>();
  for (const text of corpus) for (const g of new Set(charNgrams(text))) df.set(g, (df.get(g) ?? 0) + 1);
  const n = corpus.length;
  const idf = new Map([...df].map(([g, d]) => [g, Math.log((1 + n) / (1 + d)) + 1]));
  return { idf, unseen: Math.log(1 + n) + 1 };
}

/** TF-IDF vector of one text, unit length. */
export function ngramVector(text: string, weights: { idf: Map<string, number>; unseen: number }): SparseVector {
  const tf = new Map<string, number>();
  for (const g of charNgrams(text)) tf.set(g, (tf.get(g) ?? 0) + 1);
  const v: SparseVector = new Map();
  let norm = 0;
  for (const [g, c] of tf) {
    const w = (1 + Math.log(c)) * (weights.idf.get(g) ?? weights.unseen);
    v.set(g, w);
    norm += w * w;
  }
  norm = Math.sqrt(norm) || 1;
  for (const [g, w] of v) v.set(g, w / norm);
  return v;
}

/** Cosine of two unit sparse vectors. */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  let s = 0;
  for (const [g, w] of small) {
    const o = large.get(g);
    if (o !== undefined) s += w * o;
  }
  return s;
}

/** Cosine of two unit dense vectors. */
export function denseDot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 1) s += a[i]! * b[i]!;
  return s;
}
