import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedEncoder, ensureEncoder } from '../../brain/encoder/fetch.js';
import { OnnxSentenceEncoder, type SentenceEncoder } from '../../brain/encoder/sentence-encoder.js';
import { loadKnowledgeBase, type KnowledgeEntry } from '../knowledge/knowledge.js';
import { DEFAULT_VOTE, vote, type Neighbour, type VoteParameters, type Votes } from './knn.js';
import { denseDot, idfOf, ngramVector, sparseDot, type SparseVector } from './ngrams.js';

/** What the knowledge base says a requirement means, and how the reading was made. */
export interface Meaning extends Votes {
  /** Which features compared the texts ("use-multilingual-v3+char-ngrams" or "char-ngrams"). */
  source: string;
  /** Similarity of the closest entry: low means nothing known is like this request. */
  maxSimilarity: number;
}

/** Tunables of the reading; defaults come from leave-one-out on the knowledge base. */
export interface ReaderParameters {
  /** Weight of the sentence encoder's similarity against the character n-grams' (0..1). */
  mix: number;
  vote: VoteParameters;
}

export const DEFAULT_READER: ReaderParameters = { mix: 0.9, vote: DEFAULT_VOTE };

interface Indexed {
  entry: KnowledgeEntry;
  dense?: Float32Array;
  sparse: SparseVector;
}

/**
 * Reads a requirement by meaning: compares it with every labelled requirement of the knowledge
 * base (multilingual sentence embeddings plus character n-grams) and lets the nearest vote.
 * Deterministic: same text, same knowledge base, same answer.
 */
export class MeaningReader {
  private constructor(
    private readonly index: Indexed[],
    private readonly weights: ReturnType<typeof idfOf>,
    private readonly encoder: SentenceEncoder | undefined,
    readonly params: ReaderParameters,
    /** Why the sentence encoder is not used, when it is not. */
    readonly encoderUnavailable?: string,
  ) {}

  /**
   * Index the knowledge base (embedding every entry once; with `cacheDir`, the embeddings are kept
   * there keyed by the knowledge base's content and the encoder, so later processes start at once).
   */
  static async create(options: { encoder?: SentenceEncoder; encoderUnavailable?: string; knowledge?: KnowledgeEntry[]; params?: ReaderParameters; cacheDir?: string } = {}): Promise<MeaningReader> {
    const knowledge = options.knowledge ?? loadKnowledgeBase();
    const weights = idfOf(knowledge.map((e) => e.text));
    const dense = options.encoder ? await embedKnowledge(options.encoder, knowledge, options.cacheDir) : undefined;
    const index = knowledge.map((entry, i) => ({ entry, sparse: ngramVector(entry.text, weights), ...(dense ? { dense: dense[i]! } : {}) }));
    return new MeaningReader(index, weights, options.encoder, options.params ?? DEFAULT_READER, options.encoderUnavailable);
  }

  /** Which features this reader compares with. */
  get source(): string {
    return this.encoder ? `${this.encoder.id}+char-ngrams` : 'char-ngrams';
  }

  /** The knowledge base as indexed. */
  get entries(): KnowledgeEntry[] {
    return this.index.map((i) => i.entry);
  }

  /** Similarity of `text` to every entry (`skip`: an entry id left out, for leave-one-out). */
  async neighbours(text: string, skip?: string): Promise<Neighbour[]> {
    const sparse = ngramVector(text, this.weights);
    const dense = this.encoder ? (await this.encoder.embed([text]))[0] : undefined;
    return this.index
      .filter((i) => i.entry.id !== skip)
      .map((i) => {
        const lexical = sparseDot(sparse, i.sparse);
        const similarity = dense && i.dense ? this.params.mix * denseDot(dense, i.dense) + (1 - this.params.mix) * lexical : lexical;
        return { entry: i.entry, similarity };
      });
  }

  /** What the knowledge base says `text` means. */
  async read(text: string, options: { skip?: string; params?: ReaderParameters } = {}): Promise<Meaning> {
    const all = await this.neighbours(text, options.skip);
    const votes = vote(all, (options.params ?? this.params).vote);
    return { ...votes, source: this.source, maxSimilarity: votes.nearest[0]?.similarity ?? 0 };
  }
}

/** Embeddings of every entry, read from `cacheDir` when an identical knowledge base was embedded before. */
async function embedKnowledge(encoder: SentenceEncoder, knowledge: KnowledgeEntry[], cacheDir?: string): Promise<Float32Array[]> {
  const texts = knowledge.map((e) => e.text);
  const key = createHash('sha256').update(JSON.stringify([encoder.id, texts])).digest('hex').slice(0, 16);
  const file = cacheDir ? join(cacheDir, `knowledge-${key}.f32`) : undefined;
  if (file && existsSync(file)) {
    const bytes = readFileSync(file);
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const dim = all.length / texts.length;
    if (Number.isInteger(dim) && dim > 0) return texts.map((_, i) => all.slice(i * dim, (i + 1) * dim));
  }
  const vectors = await encoder.embed(texts);
  if (file) {
    const flat = new Float32Array(vectors.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of vectors) {
      flat.set(v, at);
      at += v.length;
    }
    writeFileSync(`${file}.partial-${process.pid}`, Buffer.from(flat.buffer));
    renameSync(`${file}.partial-${process.pid}`, file);
  }
  return vectors;
}

let shared: Promise<MeaningReader> | undefined;

/**
 * The process-wide reader: with the sentence encoder when it is cached or can be fetched (set
 * TRAINER_AGENT_ENCODER=off to skip it), otherwise character n-grams alone, saying why.
 */
export function defaultMeaningReader(log?: (line: string) => void): Promise<MeaningReader> {
  shared ??= (async () => {
    if (process.env.TRAINER_AGENT_ENCODER === 'off') return MeaningReader.create({ encoderUnavailable: 'TRAINER_AGENT_ENCODER=off' });
    try {
      const files = cachedEncoder() ?? (await ensureEncoder({ log: log ?? ((line) => process.stderr.write(`${line}\n`)) }));
      return await MeaningReader.create({ encoder: await OnnxSentenceEncoder.load(files), cacheDir: files.dir });
    } catch (error) {
      const reason = `the sentence encoder is unavailable (${(error as Error).message.split('\n')[0]!.slice(0, 200)})`;
      (log ?? ((line: string) => process.stderr.write(`${line}\n`)))(`Reading requirements with character n-grams only: ${reason}`);
      return MeaningReader.create({ encoderUnavailable: reason });
    }
  })();
  return shared;
}
