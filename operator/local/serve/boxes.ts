import type * as Ort from 'onnxruntime-node';
import { shareTypedArraysWithNode } from './jest-realm.js';
import { decodeImage, ImageError, toModelRow } from './preprocess.js';
import { decodeBinaryBytes, encodeBinaryBytes, HttpError, type EncodedResponse, type InferLimits, type TensorMetadata } from './protocol.js';
import type { RepositoryModel } from './repository.js';
import { TextTokenizer } from './tokenizer.js';

shareTypedArraysWithNode();
const ortModule = await import('onnxruntime-node');
const ort: typeof Ort = (ortModule as unknown as { default?: typeof Ort }).default ?? (ortModule as unknown as typeof Ort);

/** The box tasks the server answers besides classification (DESIGN.md, serving contract). */
export type BoxKind = 'grounding' | 'detection';

/** A repository model that is a box model. */
export type BoxModel = RepositoryModel & { kind: BoxKind; boxes: NonNullable<RepositoryModel['boxes']> };

/** Whether a repository model is a box model. */
export function isBoxModel(model: RepositoryModel): model is BoxModel {
  return (model.kind === 'grounding' || model.kind === 'detection') && model.boxes !== undefined;
}

/** One preprocessed row: the model's square pixels, the input image's size and (grounding) the query. */
export interface BoxRow {
  pixels: Float32Array;
  width: number;
  height: number;
  query?: string;
}

/** What a box model answers for one row: grounding one box and score; detection K padded boxes. */
export interface BoxAnswer {
  boxes: Float32Array;
  scores: Float32Array;
  labels?: string[];
  count?: number;
}

/** Output names of each box kind, in response order. */
export const BOX_OUTPUTS: Record<BoxKind, readonly string[]> = {
  grounding: ['boxes', 'scores'],
  detection: ['boxes', 'labels', 'scores', 'count'],
};

/** Input names of each box kind (BYTES, [N, 1] each). */
export const BOX_INPUTS: Record<BoxKind, readonly string[]> = {
  grounding: ['image', 'query'],
  detection: ['image'],
};

/** A validated box request: base64 images (and queries), the outputs to return and which in binary. */
export interface BoxRequest {
  id?: string;
  images: string[];
  queries?: string[];
  outputs: string[];
  binaryOutputs: Set<string>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `GET /v2/models/<model>` of a box model (Triton's shapes: batched scalars are [-1, 1]). */
export function boxMetadata(model: BoxModel): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
  const k = model.boxes?.maxDetections ?? 0;
  const outputs: TensorMetadata[] = model.kind === 'grounding'
    ? [{ name: 'boxes', datatype: 'FP32', shape: [-1, 4] }, { name: 'scores', datatype: 'FP32', shape: [-1, 1] }]
    : [{ name: 'boxes', datatype: 'FP32', shape: [-1, k, 4] }, { name: 'labels', datatype: 'BYTES', shape: [-1, k] },
      { name: 'scores', datatype: 'FP32', shape: [-1, k] }, { name: 'count', datatype: 'INT32', shape: [-1, 1] }];
  return {
    name: model.name, versions: ['1'], platform: model.kind === 'grounding' ? 'ensemble' : 'python',
    inputs: BOX_INPUTS[model.kind].map((name) => ({ name, datatype: 'BYTES', shape: [-1, 1] })), outputs,
  };
}

/** `GET /v2/models/<model>/config` of a box model: what the repository's public config.pbtxt says. */
export function boxConfig(model: BoxModel): Record<string, unknown> {
  const one = { data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } };
  const k = model.boxes?.maxDetections ?? 0;
  return {
    name: model.name,
    ...(model.kind === 'grounding' ? { platform: 'ensemble' } : { backend: 'python' }),
    max_batch_size: model.batching.maxBatchSize,
    input: BOX_INPUTS[model.kind].map((name) => ({ name, ...one })),
    output: model.kind === 'grounding'
      ? [{ name: 'boxes', data_type: 'TYPE_FP32', dims: [4] }, { name: 'scores', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }]
      : [{ name: 'boxes', data_type: 'TYPE_FP32', dims: [k, 4] }, { name: 'labels', data_type: 'TYPE_STRING', dims: [k] },
        { name: 'scores', data_type: 'TYPE_FP32', dims: [k] }, { name: 'count', data_type: 'TYPE_INT32', dims: [1], reshape: { shape: [] } }],
    dynamic_batching: { preferred_batch_size: [model.batching.maxBatchSize], max_queue_delay_microseconds: model.batching.queueDelayUs },
    instance_group: [{ count: model.batching.instances, kind: 'KIND_CPU' }],
  };
}

function stringsOf(data: unknown, n: number, name: string): string[] {
  if (!Array.isArray(data)) throw new HttpError(400, `input "${name}" needs "data": a list of ${n} strings`);
  if (data.length !== n) throw new HttpError(400, `input "${name}" has ${data.length} elements but shape says ${n}`);
  return data.map((d: unknown, i) => {
    const value = Array.isArray(d) && d.length === 1 ? d[0] : d;
    if (typeof value !== 'string') throw new HttpError(400, `input "${name}" data must be ${n} strings; element ${i} is not`);
    return value;
  });
}

/**
 * Validate a box infer request: the kind's inputs (grounding `image` and `query`, detection `image`), each
 * BYTES [N, 1] with the same N (1 ≤ N ≤ max rows), as JSON data or binary (in input order after the header).
 */
export function parseBoxRequest(body: unknown, model: BoxModel, limits: InferLimits, binary?: Buffer): BoxRequest {
  if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object');
  const expected = BOX_INPUTS[model.kind];
  const inputs = body.inputs;
  const names = expected.map((n) => `"${n}"`).join(' and ');
  if (!Array.isArray(inputs) || inputs.length !== expected.length) throw new HttpError(400, `expected "inputs" with ${names} (BYTES, shape [N, 1] each)`);
  const values = new Map<string, string[]>();
  let n: number | undefined;
  let offset = 0;
  for (const input of inputs as unknown[]) {
    if (!isObject(input)) throw new HttpError(400, 'each input must be an object');
    const name = input.name;
    if (typeof name !== 'string' || !expected.includes(name)) throw new HttpError(400, `unknown input ${JSON.stringify(name)}: this model takes ${names}`);
    if (values.has(name)) throw new HttpError(400, `input "${name}" is given twice`);
    if (input.datatype !== 'BYTES') throw new HttpError(400, `input "${name}" must have datatype BYTES`);
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.length !== 2 || shape[1] !== 1 || !Number.isInteger(shape[0]) || (shape[0] as number) < 1) {
      throw new HttpError(400, `unexpected shape for input "${name}": expected [N, 1] with N >= 1, got ${JSON.stringify(shape)}`);
    }
    const rows = shape[0] as number;
    if (n !== undefined && rows !== n) throw new HttpError(400, `inputs have different row counts (${n} and ${rows}): send one ${expected.join(' and one ')} per row`);
    n = rows;
    if (rows > limits.maxRows) throw new HttpError(413, `the request has ${rows} rows; this server takes at most ${limits.maxRows} per request (max_batch_size, as Triton): split it`);
    const parameters = isObject(input.parameters) ? input.parameters : {};
    if (parameters.binary_data_size !== undefined) {
      const size = parameters.binary_data_size;
      if (!Number.isInteger(size) || (size as number) < 0 || !binary || offset + (size as number) > binary.length) {
        throw new HttpError(400, `input "${name}" declares ${String(size)} bytes of binary data the body does not carry after the JSON header`);
      }
      values.set(name, decodeBinaryBytes(binary.subarray(offset, offset + (size as number)), rows, name));
      offset += size as number;
    } else {
      values.set(name, stringsOf(input.data, rows, name));
    }
  }
  if (binary && offset !== binary.length) throw new HttpError(400, `${binary.length - offset} bytes after the JSON header belong to no input`);
  const outputsAllowed = BOX_OUTPUTS[model.kind];
  const requestParameters = isObject(body.parameters) ? body.parameters : {};
  const allBinary = requestParameters.binary_data_output === true;
  let outputs = [...outputsAllowed];
  const binaryOutputs = new Set<string>(allBinary ? outputs : []);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new HttpError(400, '"outputs" must be an array');
    binaryOutputs.clear();
    outputs = body.outputs.map((o: unknown) => {
      const name = isObject(o) ? o.name : undefined;
      if (typeof name !== 'string' || !outputsAllowed.includes(name)) throw new HttpError(400, `unknown output ${JSON.stringify(name)}: use ${outputsAllowed.map((x) => `"${x}"`).join(', ')}`);
      const p = isObject(o) && isObject(o.parameters) ? o.parameters : {};
      if (p.binary_data === true || (allBinary && p.binary_data === undefined)) binaryOutputs.add(name);
      return name;
    });
  }
  const id = typeof body.id === 'string' ? body.id : undefined;
  return { ...(id !== undefined ? { id } : {}), images: values.get('image')!, ...(values.has('query') ? { queries: values.get('query')! } : {}), outputs, binaryOutputs };
}

/** Decode and preprocess a request's images (400 for one that is not a PNG or JPEG) into model rows. */
export function boxRows(model: BoxModel, request: BoxRequest): BoxRow[] {
  return request.images.map((b64, i) => {
    try {
      const image = decodeImage(b64);
      return { pixels: toModelRow(image, model.boxes!.image), width: image.width, height: image.height, ...(request.queries ? { query: request.queries[i]! } : {}) };
    } catch (err) {
      if (err instanceof ImageError) throw new HttpError(400, `invalid image in row ${i}: ${err.message}`);
      throw err;
    }
  });
}

/**
 * An exported box model on onnxruntime-node (convert/box_export.py): grounding runs a batch at once
 * (pixels, the query's tokens from the model's tokenizer.json, the images' sizes); detection's graph
 * takes one image per run, so a batch runs image by image.
 */
export class OnnxBoxModel {
  private constructor(
    private readonly session: Ort.InferenceSession,
    private readonly model: BoxModel,
    private readonly tokenizer?: TextTokenizer,
  ) {}

  static async load(model: BoxModel, intraOpThreads = 1): Promise<OnnxBoxModel> {
    const session = await ort.InferenceSession.create(model.onnxPath, {
      executionProviders: ['cpu'], intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, enableCpuMemArena: false,
    });
    const wanted = model.kind === 'grounding' ? ['pixel_values', 'input_ids', 'attention_mask', 'image_size'] : ['pixels', 'image_size'];
    for (const name of wanted) if (!session.inputNames.includes(name)) throw new Error(`${model.onnxPath} has no input ${name}`);
    const tokenizer = model.kind === 'grounding' && model.boxes.tokenizer ? await TextTokenizer.load(model.boxes.tokenizer.path, model.boxes.tokenizer.maxLength) : undefined;
    if (model.kind === 'grounding' && !tokenizer) throw new Error(`grounding model ${model.name} has no tokenizer.json`);
    return new OnnxBoxModel(session, model, tokenizer);
  }

  private pixels(rows: BoxRow[]): Ort.Tensor {
    const size = this.model.boxes.image.height;
    const plane = 3 * size * size;
    const data = new Float32Array(rows.length * plane);
    rows.forEach((r, i) => data.set(r.pixels, i * plane));
    return new ort.Tensor('float32', data, [rows.length, 3, size, size]);
  }

  private sizes(rows: BoxRow[]): Ort.Tensor {
    return new ort.Tensor('float32', Float32Array.from(rows.flatMap((r) => [r.width, r.height])), [rows.length, 2]);
  }

  /** Answers for a batch of rows, in order. */
  async predict(rows: BoxRow[]): Promise<BoxAnswer[]> {
    if (this.model.kind === 'grounding') {
      const batch = this.tokenizer!.encodeBatch(rows.map((r) => r.query ?? ''));
      const out = await this.session.run({
        pixel_values: this.pixels(rows), image_size: this.sizes(rows),
        input_ids: new ort.Tensor('int64', batch.inputIds, batch.dims), attention_mask: new ort.Tensor('int64', batch.attentionMask, batch.dims),
      }, ['boxes', 'scores']);
      const boxes = out.boxes!.data as Float32Array;
      const scores = out.scores!.data as Float32Array;
      return rows.map((_, i) => ({ boxes: boxes.slice(i * 4, i * 4 + 4), scores: scores.slice(i, i + 1) }));
    }
    const answers: BoxAnswer[] = [];
    const labels = this.model.labels;
    for (const row of rows) {
      const out = await this.session.run({ pixels: this.pixels([row]), image_size: this.sizes([row]) }, ['boxes', 'scores', 'labels', 'count']);
      const indices = out.labels!.data as BigInt64Array;
      answers.push({
        boxes: (out.boxes!.data as Float32Array).slice(), scores: (out.scores!.data as Float32Array).slice(),
        labels: Array.from(indices, (v) => (v > 0n ? labels[Number(v) - 1] ?? '' : '')), count: Number((out.count!.data as BigInt64Array)[0]),
      });
    }
    return answers;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The infer response of a box model: every asked output, row-major, JSON or binary where asked. */
export function boxResponse(model: BoxModel, request: BoxRequest, answers: BoxAnswer[]): EncodedResponse {
  const n = answers.length;
  const k = model.boxes.maxDetections ?? 1;
  const blobs: Buffer[] = [];
  const floats = (parts: Float32Array[], size: number) => {
    const all = new Float32Array(n * size);
    parts.forEach((p, i) => all.set(p, i * size));
    return all;
  };
  const outputs = request.outputs.map((name) => {
    let head: { name: string; datatype: string; shape: number[] };
    let blob: Buffer;
    let data: unknown[];
    if (name === 'boxes') {
      const size = model.kind === 'grounding' ? 4 : k * 4;
      const all = floats(answers.map((a) => a.boxes), size);
      head = { name, datatype: 'FP32', shape: model.kind === 'grounding' ? [n, 4] : [n, k, 4] };
      blob = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
      data = Array.from(all);
    } else if (name === 'scores') {
      const size = model.kind === 'grounding' ? 1 : k;
      const all = floats(answers.map((a) => a.scores), size);
      head = { name, datatype: 'FP32', shape: [n, size] };
      blob = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
      data = Array.from(all);
    } else if (name === 'labels') {
      const labels = answers.flatMap((a) => a.labels ?? []);
      head = { name, datatype: 'BYTES', shape: [n, k] };
      blob = encodeBinaryBytes(labels);
      data = labels;
    } else {
      const counts = Int32Array.from(answers.map((a) => a.count ?? 0));
      head = { name, datatype: 'INT32', shape: [n, 1] };
      blob = Buffer.from(counts.buffer, counts.byteOffset, counts.byteLength);
      data = Array.from(counts);
    }
    if (request.binaryOutputs.has(name)) {
      blobs.push(blob);
      return { ...head, parameters: { binary_data_size: blob.length } };
    }
    return { ...head, data };
  });
  const json = Buffer.from(JSON.stringify({ model_name: model.name, model_version: '1', ...(request.id !== undefined ? { id: request.id } : {}), outputs }));
  return blobs.length === 0 ? { body: json } : { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
