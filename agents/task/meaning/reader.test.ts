import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SentenceEncoder } from '../../brain/encoder/sentence-encoder.js';
import type { KnowledgeEntry } from '../knowledge/knowledge.js';
import { MeaningReader } from './reader.js';

/** A stand-in encoder: one axis per first letter, so "alike" means "starts alike"; it counts its calls. */
class LetterEncoder implements SentenceEncoder {
  readonly id = 'letters';
  calls = 0;
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls += 1;
    return texts.map((t) => {
      const v = new Float32Array(26);
      v[(t.toLowerCase().charCodeAt(0) - 97 + 26) % 26] = 1;
      return v;
    });
  }
}

const kb: KnowledgeEntry[] = [
  { id: 'a', text: 'classify emails', lang: 'en', decision: 'accept', task: 'text-classification' },
  { id: 'b', text: 'detect cars in photos', lang: 'en', decision: 'accept', task: 'object-detection' },
  { id: 'c', text: 'forge passports', lang: 'en', decision: 'reject-unethical', harm: 'fraud-deception' },
];

describe('MeaningReader', () => {
  it('lets the nearest entries vote, and leaves an entry out when asked (leave-one-out)', async () => {
    const reader = await MeaningReader.create({ encoder: new LetterEncoder(), knowledge: kb });
    const meaning = await reader.read('collect emails and classify them');
    expect(meaning.source).toBe('letters+char-ngrams');
    expect(meaning.nearest[0]!.entry.id).toBe('a');
    expect(meaning.task.get('text-classification')).toBeGreaterThan(0.5);
    const without = await reader.read('classify emails', { skip: 'a' });
    expect(without.nearest.map((n) => n.entry.id)).not.toContain('a');
  });

  it('keeps the knowledge base embeddings on disk and reads them back instead of embedding again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reader-cache-'));
    const first = new LetterEncoder();
    const a = await MeaningReader.create({ encoder: first, knowledge: kb, cacheDir: dir });
    expect(readdirSync(dir).filter((f) => f.endsWith('.f32'))).toHaveLength(1);
    const second = new LetterEncoder();
    const b = await MeaningReader.create({ encoder: second, knowledge: kb, cacheDir: dir });
    expect(second.calls).toBe(0);
    const [x, y] = [await a.read('forge documents'), await b.read('forge documents')];
    expect(y.nearest.map((n) => [n.entry.id, n.similarity])).toEqual(x.nearest.map((n) => [n.entry.id, n.similarity]));
  });
});
