import { z } from 'zod';
import { decodeBinaryBytes, encodeBinaryBytes, HttpError, type EncodedResponse, type InferLimits, type TensorMetadata } from './protocol.js';

/** One named input of a table model (preprocessing.json, written by convert/tabular.py). */
export const TabularFeature = z.object({
  name: z.string().min(1),
  datatype: z.enum(['FP32', 'BYTES']),
  kind: z.enum(['numeric', 'categorical']),
  column: z.string(),
});
export type TabularFeature = z.infer<typeof TabularFeature>;

/** How a table model is fed and what it answers. */
export const TabularPreprocessing = z.object({
  kind: z.literal('tabular'),
  task: z.enum(['classification', 'regression']),
  features: z.array(TabularFeature).min(1),
});
export type TabularPreprocessing = z.infer<typeof TabularPreprocessing>;

/** The parts of a repository model the table protocol reads. */
export interface TabularModelInfo {
  name: string;
  labels: string[];
  tabular: TabularPreprocessing;
  batching: { maxBatchSize: number; queueDelayUs: number; instances: number };
}

/** One row: a value per feature, in the model's feature order (NaN: a missing number; "": a missing category). */
export type TabularRow = (number | string)[];

/** One row's answer: a label and class probabilities, or a number. */
export interface TabularPrediction {
  label?: string;
  probabilities?: Float32Array;
  prediction?: number;
}

/** Outputs a table model answers. */
export type TabularOutputName = 'label' | 'probabilities' | 'prediction';

/** A validated inference request for a table model. */
export interface TabularInferRequest {
  id?: string;
  rows: TabularRow[];
  outputs: TabularOutputName[];
  binaryOutputs: Set<TabularOutputName>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The outputs of a table model, in order. */
export function tabularOutputs(model: TabularModelInfo): TabularOutputName[] {
  return model.tabular.task === 'regression' ? ['prediction'] : ['label', 'probabilities'];
}

/** How a feature is described in errors: `"age" (FP32 [N, 1], a numeric feature from column "Age")`. */
function described(f: TabularFeature): string {
  return `"${f.name}" (${f.datatype} [N, 1], ${f.kind === 'numeric' ? 'a number' : 'a category as a string'}${f.column !== f.name ? `, column "${f.column}"` : ''})`;
}

/** `GET /v2/models/<model>`: one [−1, 1] input per feature; label and probabilities, or prediction. */
export function tabularMetadata(model: TabularModelInfo): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
  return {
    name: model.name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: model.tabular.features.map((f) => ({ name: f.name, datatype: f.datatype, shape: [-1, 1] })),
    outputs: model.tabular.task === 'regression'
      ? [{ name: 'prediction', datatype: 'FP32', shape: [-1, 1] }]
      : [{ name: 'label', datatype: 'BYTES', shape: [-1, 1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] }],
  };
}

/** `GET /v2/models/<model>/config`: as Triton reports the repository's config.pbtxt. */
export function tabularConfig(model: TabularModelInfo): Record<string, unknown> {
  const type = (f: TabularFeature) => (f.datatype === 'FP32' ? 'TYPE_FP32' : 'TYPE_STRING');
  return {
    name: model.name,
    platform: 'onnxruntime_onnx',
    max_batch_size: model.batching.maxBatchSize,
    input: model.tabular.features.map((f) => ({ name: f.name, data_type: type(f), dims: [1] })),
    output: model.tabular.task === 'regression'
      ? [{ name: 'prediction', data_type: 'TYPE_FP32', dims: [1] }]
      : [{ name: 'label', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } }, { name: 'probabilities', data_type: 'TYPE_FP32', dims: [model.labels.length] }],
    dynamic_batching: { preferred_batch_size: [model.batching.maxBatchSize], max_queue_delay_microseconds: model.batching.queueDelayUs },
    instance_group: [{ count: model.batching.instances, kind: 'KIND_CPU' }],
  };
}

/** The N values of one feature input from JSON `data` (flat, or N lists of one value). */
function jsonValues(feature: TabularFeature, data: unknown, n: number): (number | string)[] {
  if (!Array.isArray(data)) throw new HttpError(400, `input "${feature.name}" needs "data": a list of ${n} ${feature.datatype === 'FP32' ? 'numbers' : 'strings'}`);
  if (data.length !== n) throw new HttpError(400, `input "${feature.name}" has ${data.length} elements but shape says ${n}`);
  const out = new Array<number | string>(n);
  for (let i = 0; i < n; i += 1) {
    const d: unknown = data[i];
    const value = Array.isArray(d) && d.length === 1 ? d[0] : d;
    if (feature.datatype === 'FP32') {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new HttpError(400, `input "${feature.name}" is FP32: element ${i} must be a number, got ${JSON.stringify(value)?.slice(0, 40) ?? 'nothing'}` +
          (value === null ? ' (JSON has no NaN: send a missing number as NaN with the binary tensor extension)' : ''));
      }
    } else if (typeof value !== 'string') {
      throw new HttpError(400, `input "${feature.name}" is BYTES: element ${i} must be a string (a missing category is ""), got ${JSON.stringify(value)?.slice(0, 40) ?? 'nothing'}`);
    }
    out[i] = value as number | string;
  }
  return out;
}

/** The N values of one feature input from the binary tensor extension. */
function binaryValues(feature: TabularFeature, bytes: Buffer, n: number): (number | string)[] {
  if (feature.datatype === 'BYTES') return decodeBinaryBytes(bytes, n, feature.name);
  if (bytes.length !== 4 * n) throw new HttpError(400, `input "${feature.name}" is FP32 [${n}, 1]: its binary data must be ${4 * n} bytes, got ${bytes.length}`);
  return Array.from({ length: n }, (_, i) => bytes.readFloatLE(4 * i));
}

/**
 * Validate a `POST /v2/models/<model>/infer` body for a table model: one input per feature, named as
 * the model names it, with its datatype (FP32 for numbers, BYTES for categories) and Triton's shape
 * [N, 1], the same N for every input, as JSON data or binary data (slices of `binary`, in input order).
 * Every problem is a 400 that names the feature: unknown, repeated, missing, wrong datatype, wrong shape,
 * wrong element type.
 */
export function parseTabularInferRequest(body: unknown, model: TabularModelInfo, limits: InferLimits, binary?: Buffer): TabularInferRequest {
  if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object');
  const features = model.tabular.features;
  const byName = new Map(features.map((f, i) => [f.name, { feature: f, index: i }]));
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw new HttpError(400, `expected "inputs": one tensor per feature (${features.map((f) => `"${f.name}"`).join(', ')})`);
  }
  const columns = new Map<string, (number | string)[]>();
  let rows: number | undefined;
  let offset = 0;
  for (const input of body.inputs as unknown[]) {
    if (!isObject(input)) throw new HttpError(400, 'each input must be an object');
    const known = typeof input.name === 'string' ? byName.get(input.name) : undefined;
    if (!known) {
      throw new HttpError(400, `unknown input ${JSON.stringify(input.name)}: this model takes ${features.map((f) => `"${f.name}"`).join(', ')}`);
    }
    const { feature } = known;
    if (columns.has(feature.name)) throw new HttpError(400, `input "${feature.name}" is given twice`);
    if (input.datatype !== feature.datatype) {
      throw new HttpError(400, `input "${feature.name}" must have datatype ${feature.datatype} (${feature.kind === 'numeric' ? 'a numeric feature' : 'a categorical feature'}), got ${JSON.stringify(input.datatype)}`);
    }
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.length !== 2 || shape[1] !== 1 || !Number.isInteger(shape[0]) || (shape[0] as number) < 1) {
      throw new HttpError(400, `unexpected shape for input "${feature.name}" for model "${model.name}": expected [-1, 1], got ${JSON.stringify(shape)}. ` +
        `As in Triton, max_batch_size ${model.batching.maxBatchSize} > 0 prepends a batch dimension to dims [1]: send N rows as shape [N, 1]`);
    }
    const n = shape[0] as number;
    if (rows !== undefined && n !== rows) {
      throw new HttpError(400, `input "${feature.name}" has ${n} rows but the inputs before it have ${rows}: every feature input needs the same N`);
    }
    rows = n;
    if (n > limits.maxRows) {
      throw new HttpError(413, `the request has ${n} rows; this server takes at most ${limits.maxRows} per request ` +
        `(max_batch_size ${model.batching.maxBatchSize}, as Triton): split it into several requests`);
    }
    const parameters = isObject(input.parameters) ? input.parameters : {};
    for (const key of Object.keys(parameters)) {
      if (key !== 'binary_data_size') throw new HttpError(400, `input parameter "${key}" is not supported here (shared memory and other extensions are not)`);
    }
    if (parameters.binary_data_size !== undefined) {
      const size = parameters.binary_data_size;
      if (!Number.isInteger(size) || (size as number) < 0) throw new HttpError(400, `input "${feature.name}": binary_data_size must be a byte count`);
      if (input.data !== undefined) throw new HttpError(400, `input "${feature.name}" has both "data" and binary data`);
      if (!binary || offset + (size as number) > binary.length) {
        throw new HttpError(400, `input "${feature.name}" declares ${String(size)} bytes of binary data, but only ${(binary?.length ?? 0) - offset} remain after the JSON header ` +
          '(send the header length in Inference-Header-Content-Length)');
      }
      columns.set(feature.name, binaryValues(feature, binary.subarray(offset, offset + (size as number)), n));
      offset += size as number;
    } else {
      columns.set(feature.name, jsonValues(feature, input.data, n));
    }
  }
  if (binary && offset !== binary.length) {
    throw new HttpError(400, `${binary.length - offset} bytes after the JSON header belong to no input (binary_data_size of the inputs adds up to ${offset})`);
  }
  const missing = features.filter((f) => !columns.has(f.name));
  if (missing.length > 0) {
    throw new HttpError(400, `missing input${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).map(described).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}: ` +
      'every feature needs an input (a missing number is NaN, a missing category "")');
  }
  const n = rows ?? 0;
  const table = features.map((f) => columns.get(f.name)!);
  const out: TabularRow[] = Array.from({ length: n }, (_, i) => table.map((column) => column[i]!));
  const { outputs, binaryOutputs } = requestedOutputs(body, model);
  const id = typeof body.id === 'string' ? body.id : undefined;
  return { ...(id !== undefined ? { id } : {}), rows: out, outputs, binaryOutputs };
}

/** The outputs a request asks for (all by default), each as JSON or binary data. */
function requestedOutputs(body: Record<string, unknown>, model: TabularModelInfo): { outputs: TabularOutputName[]; binaryOutputs: Set<TabularOutputName> } {
  const available = tabularOutputs(model);
  const requestParameters = isObject(body.parameters) ? body.parameters : {};
  const allBinary = requestParameters.binary_data_output === true;
  if (body.outputs === undefined) return { outputs: available, binaryOutputs: new Set(allBinary ? available : []) };
  if (!Array.isArray(body.outputs)) throw new HttpError(400, '"outputs" must be an array');
  const binaryOutputs = new Set<TabularOutputName>();
  const outputs = body.outputs.map((o: unknown) => {
    const name = isObject(o) ? o.name : undefined;
    if (!available.includes(name as TabularOutputName)) throw new HttpError(400, `unknown output ${JSON.stringify(name)}: use ${available.map((a) => `"${a}"`).join(' or ')}`);
    const parameters = isObject(o) && isObject(o.parameters) ? o.parameters : {};
    for (const key of Object.keys(parameters)) {
      if (key !== 'binary_data') throw new HttpError(400, `output parameter "${key}" is not supported here (classification and shared memory are not)`);
    }
    if (parameters.binary_data === true || (allBinary && parameters.binary_data === undefined)) binaryOutputs.add(name as TabularOutputName);
    return name as TabularOutputName;
  });
  return { outputs, binaryOutputs };
}

/** The infer response: `label` BYTES [N, 1] and `probabilities` FP32 [N, classes], or `prediction` FP32 [N, 1]. */
export function tabularResponse(model: TabularModelInfo, request: TabularInferRequest, predictions: TabularPrediction[]): EncodedResponse {
  const n = predictions.length;
  const classes = model.labels.length;
  const blobs: Buffer[] = [];
  const outputs = request.outputs.map((name) => {
    const shape = name === 'probabilities' ? [n, classes] : [n, 1];
    const head = { name, datatype: name === 'label' ? 'BYTES' : 'FP32', shape };
    if (request.binaryOutputs.has(name)) {
      let blob: Buffer;
      if (name === 'label') blob = encodeBinaryBytes(predictions.map((p) => p.label ?? ''));
      else {
        const floats = new Float32Array(name === 'probabilities' ? n * classes : n);
        predictions.forEach((p, i) => (name === 'probabilities' ? floats.set(p.probabilities!, i * classes) : (floats[i] = p.prediction!)));
        blob = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
      }
      blobs.push(blob);
      return { ...head, parameters: { binary_data_size: blob.length } };
    }
    const data = name === 'label' ? predictions.map((p) => p.label ?? '')
      : name === 'probabilities' ? predictions.flatMap((p) => Array.from(p.probabilities!)) : predictions.map((p) => p.prediction!);
    return { ...head, data };
  });
  const json = Buffer.from(JSON.stringify({ model_name: model.name, model_version: '1', ...(request.id !== undefined ? { id: request.id } : {}), outputs }));
  return blobs.length === 0 ? { body: json } : { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}

/**
 * A JSON request body for rows given as `{feature: value}` objects (a row of the conversion's
 * reference predictions): one [N, 1] input per feature. Numbers must be finite: JSON carries no NaN.
 */
export function tabularRequestBody(model: TabularModelInfo, rows: Record<string, unknown>[]): string {
  return JSON.stringify({
    inputs: model.tabular.features.map((f) => ({
      name: f.name, datatype: f.datatype, shape: [rows.length, 1],
      data: rows.map((r) => {
        const v = r[f.name];
        return f.datatype === 'FP32' ? (typeof v === 'number' ? v : Number.NaN) : typeof v === 'string' ? v : '';
      }),
    })),
  });
}

/**
 * The same rows with the binary tensor extension: FP32 inputs as little-endian floats (NaN for a missing
 * number, which JSON cannot carry), BYTES inputs length-prefixed; the JSON header's length goes in
 * `Inference-Header-Content-Length`.
 */
export function tabularBinaryBody(model: TabularModelInfo, rows: Record<string, unknown>[]): { body: Buffer; headerLength: number } {
  const blobs = model.tabular.features.map((f) => {
    if (f.datatype === 'BYTES') return encodeBinaryBytes(rows.map((r) => (typeof r[f.name] === 'string' ? (r[f.name] as string) : '')));
    const floats = new Float32Array(rows.map((r) => (typeof r[f.name] === 'number' ? (r[f.name] as number) : Number.NaN)));
    return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  });
  const header = Buffer.from(JSON.stringify({
    inputs: model.tabular.features.map((f, i) => ({ name: f.name, datatype: f.datatype, shape: [rows.length, 1], parameters: { binary_data_size: blobs[i]!.length } })),
  }));
  return { body: Buffer.concat([header, ...blobs]), headerLength: header.length };
}
