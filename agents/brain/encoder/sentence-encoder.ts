import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import type * as Ort from 'onnxruntime-node';
import type { EncoderFiles } from './fetch.js';
import { shareTypedArraysWithNode } from './jest-realm.js';

shareTypedArraysWithNode();
const ort = (await import('onnxruntime-node')) as typeof Ort;

/** Turns sentences into unit vectors whose dot product says how alike they mean. */
export interface SentenceEncoder {
  /** Name for reports ("use-multilingual-v3"). */
  readonly id: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** USE Multilingual v3 in-process: SentencePiece in JavaScript, the network in onnxruntime-node. */
export class OnnxSentenceEncoder implements SentenceEncoder {
  readonly id = 'use-multilingual-v3';

  private constructor(
    private readonly session: Ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly inputs: EncoderFiles['inputs'],
  ) {}

  /** Load the prepared files; one intra-op thread keeps results deterministic and the CPU shared. */
  static async load(files: EncoderFiles): Promise<OnnxSentenceEncoder> {
    const session = await ort.InferenceSession.create(files.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(files.tokenizer, 'utf8')), {});
    return new OnnxSentenceEncoder(session, tokenizer, files.inputs);
  }

  /** Token ids of one sentence, `<s>` … `</s>` included. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text.trim()).ids;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const ids = texts.map((t) => this.tokenize(t));
    const flat = Int32Array.from(ids.flat());
    const splits = new BigInt64Array(ids.length + 1);
    ids.forEach((row, i) => (splits[i + 1] = splits[i]! + BigInt(row.length)));
    const out = await this.session.run({
      [this.inputs.tokens]: new ort.Tensor('int32', flat, [flat.length]),
      [this.inputs.splits]: new ort.Tensor('int64', splits, [splits.length]),
    });
    const tensor = Object.values(out)[0]!;
    const data = tensor.data as Float32Array;
    const dim = data.length / texts.length;
    return texts.map((_, i) => unit(Float32Array.from(data.subarray(i * dim, (i + 1) * dim))));
  }
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return v.map((x) => x / norm);
}
