import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';

/** A batch ready for a transformer graph: `[rows, longest]` int64 ids and mask, row-major. */
export interface TokenizedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  dims: [number, number];
}

/**
 * The tokenizer.json a torch text model was trained with, read by Hugging Face's Tokenizers.js (the
 * same file the training job, the conversion's parity check and Triton's tokenizer model read with the
 * Rust `tokenizers`). Rows are truncated like `enable_truncation(max_length)` does for one sequence:
 * the word pieces are cut from the right so that, with the special tokens the template adds, a row
 * has at most `maxLength` ids. Batches are padded to their longest row with the pad id.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    private readonly padId: number,
  ) {}

  /** Load `tokenizer.json`; `maxLength` comes from the model's preprocessing.json. */
  static async load(path: string, maxLength: number): Promise<TextTokenizer> {
    const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const tokenizer = new Tokenizer(json, {});
    const padId = tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0;
    return new TextTokenizer(tokenizer, maxLength, padId);
  }

  /** Ids of one text, special tokens included, truncated to maxLength. */
  encode(text: string): number[] {
    const full = this.tokenizer.encode(text).ids;
    if (full.length <= this.maxLength) return full;
    const pieces = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const prefix = findSubsequence(full, pieces);
    const suffix = full.length - prefix - pieces.length;
    const keep = Math.max(0, this.maxLength - prefix - suffix);
    return [...full.slice(0, prefix), ...pieces.slice(0, keep), ...full.slice(prefix + pieces.length)];
  }

  /** A padded batch. */
  encodeBatch(texts: string[]): TokenizedBatch {
    const rows = texts.map((t) => this.encode(t));
    const longest = Math.max(1, ...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(rows.length * longest).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(rows.length * longest);
    rows.forEach((ids, i) => {
      ids.forEach((id, j) => {
        inputIds[i * longest + j] = BigInt(id);
        attentionMask[i * longest + j] = 1n;
      });
    });
    return { inputIds, attentionMask, dims: [rows.length, longest] };
  }
}

/** Where `needle` starts in `haystack` (the special-token prefix length); 0 when it is not found. */
function findSubsequence(haystack: number[], needle: number[]): number {
  for (let start = 0; start + needle.length <= haystack.length; start += 1) {
    if (needle.every((v, i) => haystack[start + i] === v)) return start;
  }
  return 0;
}
