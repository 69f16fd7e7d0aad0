import { bytesField, readFields, stringField, stringOf, varintField, writeFields, type WireField } from './protobuf.js';

/** ONNX tensor element types used here. */
const INT32 = 6;
const INT64 = 7;

/** The tokenizer a USE-style ONNX model embeds, and the model without it. */
export interface SplitModel {
  /** The ONNX model with its SentencePiece node removed: inputs `tokens` (int32 [T]) and `splits` (int64 [N+1]). */
  onnx: Uint8Array;
  /** The SentencePiece model proto that node carried. */
  sentencepiece: Uint8Array;
  /** Input names of the returned graph: flat token ids, and row splits (N+1 offsets). */
  inputs: { tokens: string; splits: string };
}

function tensorInput(name: string, elemType: number): WireField {
  const dim = bytesField(1, writeFields([stringField(2, 'n')]));
  const shape = bytesField(2, writeFields([dim]));
  const tensor = bytesField(1, writeFields([varintField(1, elemType), shape]));
  return bytesField(11, writeFields([stringField(1, name), bytesField(2, writeFields([tensor]))]));
}

/**
 * Cut the in-graph SentencePiece tokenizer (an onnxruntime-extensions custom op that
 * onnxruntime-node cannot run) out of a text-in ONNX model: its outputs become graph inputs, and
 * its string input and custom-op domain go. The tokenizer then runs in JavaScript.
 */
export function splitTokenizer(model: Uint8Array): SplitModel {
  const top = readFields(model);
  const graphField = top.find((f) => f.field === 7 && f.wire === 2);
  if (!graphField) throw new Error('ONNX model has no graph');
  const graph = readFields(graphField.bytes!);
  let tokenizer: { outputs: string[]; inputs: string[]; model: Uint8Array } | undefined;
  const kept: WireField[] = [];
  for (const f of graph) {
    if (f.field === 1 && f.wire === 2) {
      const node = readFields(f.bytes!);
      if (stringOf(node, 4) === 'SentencepieceTokenizer') {
        const strings = (n: number) => node.filter((x) => x.field === n).map((x) => new TextDecoder().decode(x.bytes));
        const attribute = node
          .filter((x) => x.field === 5)
          .map((x) => readFields(x.bytes!))
          .find((a) => stringOf(a, 1) === 'model');
        const bytes = attribute?.find((x) => x.field === 4)?.bytes;
        if (!bytes) throw new Error('SentencepieceTokenizer node has no model attribute');
        tokenizer = { outputs: strings(2), inputs: strings(1), model: bytes };
        continue;
      }
    }
    kept.push(f);
  }
  if (!tokenizer || tokenizer.outputs.length < 2) throw new Error('ONNX model has no SentencepieceTokenizer node');
  const textInput = tokenizer.inputs[0];
  const graphOut: WireField[] = [];
  for (const f of kept) {
    if (f.field === 11 && stringOf(readFields(f.bytes!), 1) === textInput) continue;
    graphOut.push(f);
  }
  const [tokens, splits] = tokenizer.outputs as [string, string];
  graphOut.push(tensorInput(tokens, INT32), tensorInput(splits, INT64));
  const modelOut = top
    .filter((f) => !(f.field === 8 && stringOf(readFields(f.bytes!), 1) === 'ai.onnx.contrib'))
    .map((f) => (f === graphField ? bytesField(7, writeFields(graphOut)) : f));
  return { onnx: writeFields(modelOut), sentencepiece: tokenizer.model, inputs: { tokens, splits } };
}

/**
 * A `tokenizer.json` (Hugging Face tokenizers format: Unigram model) from a SentencePiece model
 * proto, so a maintained tokenizer library reads it. `<s>` and `</s>` wrap every sentence, as the
 * in-graph tokenizer did (add_bos, add_eos).
 */
export function sentencepieceToTokenizerJson(proto: Uint8Array): Record<string, unknown> {
  const fields = readFields(proto);
  const vocab: [string, number][] = [];
  const special: { id: number; content: string }[] = [];
  for (const f of fields.filter((x) => x.field === 1)) {
    const piece = readFields(f.bytes!);
    const text = stringOf(piece, 1) ?? '';
    const scoreBytes = piece.find((x) => x.field === 2)?.bytes;
    const score = scoreBytes ? new DataView(scoreBytes.buffer, scoreBytes.byteOffset, 4).getFloat32(0, true) : 0;
    const type = Number(piece.find((x) => x.field === 3)?.varint ?? 1n);
    if (type === 2 || type === 3) special.push({ id: vocab.length, content: text });
    vocab.push([text, score]);
  }
  const normalizer = fields.find((x) => x.field === 3);
  const charsmap = normalizer ? readFields(normalizer.bytes!).find((x) => x.field === 2)?.bytes : undefined;
  const unk = special.find((s) => s.content === '<unk>')?.id ?? 0;
  const bos = vocab.findIndex(([p]) => p === '<s>');
  const eos = vocab.findIndex(([p]) => p === '</s>');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Precompiled', precompiled_charsmap: charsmap ? Buffer.from(charsmap).toString('base64') : null },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
      ],
    },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        '<s>': { id: '<s>', ids: [bos], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [eos], tokens: ['</s>'] },
      },
    },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false },
    model: { type: 'Unigram', unk_id: unk, vocab, byte_fallback: false },
  };
}
