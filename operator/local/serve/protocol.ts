import type { Prediction } from './model.js';
import type { RepositoryModel } from './repository.js';

/** An error the client caused (or a server state), answered as `{"error": message}` with `status`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** KServe v2 tensor metadata. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** The input tensor name clients use: `text` or `image`. */
export function inputName(model: RepositoryModel): 'text' | 'image' {
  return model.kind === 'text' ? 'text' : 'image';
}

/**
 * `GET /v2/models/<model>`: name, versions, platform, inputs and outputs, with the shapes Triton
 * reports for the repository's config.pbtxt: `max_batch_size` > 0 prepends a batch dimension (−1) to
 * `dims: [ 1 ]`, so the one-string-per-row input and the label output are [−1, 1].
 */
export function modelMetadata(model: RepositoryModel): {
  name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[];
} {
  return {
    name: model.name,
    versions: ['1'],
    platform: model.kind === 'image' ? 'ensemble' : 'onnxruntime_onnx',
    inputs: [{ name: inputName(model), datatype: 'BYTES', shape: [-1, 1] }],
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [-1, 1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] },
    ],
  };
}

/** `GET /v2/models/<model>/config`: the parts of Triton's model configuration clients read (batching, tensors). */
export function modelConfig(model: RepositoryModel): Record<string, unknown> {
  const one = { data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } };
  return {
    name: model.name,
    platform: model.kind === 'image' ? 'ensemble' : 'onnxruntime_onnx',
    max_batch_size: model.batching.maxBatchSize,
    input: [{ name: inputName(model), ...one }],
    output: [{ name: 'label', ...one }, { name: 'probabilities', data_type: 'TYPE_FP32', dims: [model.labels.length] }],
    dynamic_batching: { preferred_batch_size: [model.batching.maxBatchSize], max_queue_delay_microseconds: model.batching.queueDelayUs },
    instance_group: [{ count: model.batching.instances, kind: 'KIND_CPU' }],
  };
}

/** Output names a model answers. */
export type OutputName = 'label' | 'probabilities';

/** A validated inference request: the rows of the one input and the outputs to return, JSON or binary. */
export interface InferRequest {
  id?: string;
  rows: string[];
  outputs: OutputName[];
  /** Outputs to return in the binary tensor extension rather than as JSON data. */
  binaryOutputs: Set<OutputName>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Limits an inference request is checked against before any row reaches the model. */
export interface InferLimits {
  /** Rows one request may carry (Triton: `max_batch_size`). */
  maxRows: number;
}

/**
 * BYTES elements of the binary tensor extension: each a 4-byte little-endian length, then the bytes.
 * Throws a 400 when the buffer does not hold exactly `count` elements.
 */
export function decodeBinaryBytes(buffer: Buffer, count: number, name: string): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new HttpError(400, `binary data of input "${name}" ends inside an element length`);
    const length = buffer.readUInt32LE(offset);
    offset += 4;
    if (offset + length > buffer.length) throw new HttpError(400, `binary data of input "${name}" ends inside element ${out.length}`);
    out.push(buffer.toString('utf8', offset, offset + length));
    offset += length;
  }
  if (out.length !== count) throw new HttpError(400, `input "${name}" has ${out.length} binary elements but shape says ${count}`);
  return out;
}

/** BYTES elements in the binary tensor extension's layout. */
export function encodeBinaryBytes(values: string[]): Buffer {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, offset);
    p.copy(out, offset + 4);
    offset += 4 + p.length;
  }
  return out;
}

/**
 * The `data` of a BYTES input of shape [N, 1]: N strings, flat (row-major, as KServe v2 allows) or
 * as N lists of one string. Checked without recursion, so a deeply nested body is a 400, not a crash.
 */
function rowsOf(data: unknown, n: number, name: string): string[] {
  if (!Array.isArray(data)) throw new HttpError(400, `input "${name}" needs "data": a list of ${n} strings (or, with the binary tensor extension, parameters.binary_data_size)`);
  if (data.length !== n) throw new HttpError(400, `input "${name}" has ${data.length} elements but shape says ${n}`);
  const rows = new Array<string>(n);
  for (let i = 0; i < n; i += 1) {
    const d: unknown = data[i];
    const value = Array.isArray(d) && d.length === 1 ? d[0] : d;
    if (typeof value !== 'string') throw new HttpError(400, `input "${name}" data must be ${n} strings (or ${n} lists of one string); element ${i} is not`);
    rows[i] = value;
  }
  return rows;
}

/** Whether the request or one output asks for binary data (the binary tensor extension). */
function wantsBinary(parameters: unknown): boolean {
  return isObject(parameters) && parameters.binary_data === true;
}

/**
 * Validate a parsed `POST /v2/models/<model>/infer` header (the JSON body, or the JSON part of a
 * binary-extension body): exactly one input named `text`/`image`, datatype BYTES, Triton's shape
 * [N, 1] with 1 ≤ N ≤ `limits.maxRows`, N strings as JSON data or as `binary` (the bytes after the
 * header); optional `outputs`, each JSON or binary.
 */
export function parseInferRequest(body: unknown, model: RepositoryModel, limits: InferLimits, binary?: Buffer): InferRequest {
  if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object');
  const expected = inputName(model);
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new HttpError(400, `expected "inputs" with exactly one tensor named "${expected}"`);
  }
  const input: unknown = inputs[0];
  if (!isObject(input)) throw new HttpError(400, 'each input must be an object');
  if (input.name !== expected) throw new HttpError(400, `unknown input ${JSON.stringify(input.name)}: this model takes "${expected}"`);
  if (input.datatype !== 'BYTES') throw new HttpError(400, `input "${expected}" must have datatype BYTES`);
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || shape[1] !== 1 || !Number.isInteger(shape[0]) || (shape[0] as number) < 0) {
    throw new HttpError(400, `unexpected shape for input "${expected}" for model "${model.name}": expected [-1, 1], got ${JSON.stringify(shape)}. ` +
      `As in Triton, max_batch_size ${model.batching.maxBatchSize} > 0 prepends a batch dimension to dims [1]: send N rows as shape [N, 1]`);
  }
  const n = shape[0] as number;
  if (n === 0) throw new HttpError(400, `input "${expected}" is empty`);
  if (n > limits.maxRows) {
    throw new HttpError(413, `the request has ${n} rows; this server takes at most ${limits.maxRows} per request ` +
      `(max_batch_size ${model.batching.maxBatchSize}, as Triton): split it into several requests`);
  }
  const parameters = isObject(input.parameters) ? input.parameters : {};
  let rows: string[];
  if (parameters.binary_data_size !== undefined) {
    const size = parameters.binary_data_size;
    if (!Number.isInteger(size) || (size as number) < 0) throw new HttpError(400, `input "${expected}": binary_data_size must be a byte count`);
    if (!binary || binary.length !== size) {
      throw new HttpError(400, `input "${expected}" declares ${String(size)} bytes of binary data, but the body carries ${binary?.length ?? 0} after the JSON header ` +
        '(send the header length in Inference-Header-Content-Length)');
    }
    if (input.data !== undefined) throw new HttpError(400, `input "${expected}" has both "data" and binary data`);
    rows = decodeBinaryBytes(binary, n, expected);
  } else {
    if (binary && binary.length > 0) throw new HttpError(400, `${binary.length} bytes follow the JSON header but no input declares parameters.binary_data_size`);
    rows = rowsOf(input.data, n, expected);
  }
  for (const key of Object.keys(parameters)) {
    if (key !== 'binary_data_size') throw new HttpError(400, `input parameter "${key}" is not supported here (shared memory and other extensions are not)`);
  }
  const requestParameters = isObject(body.parameters) ? body.parameters : {};
  const allBinary = requestParameters.binary_data_output === true;
  let outputs: OutputName[] = ['label', 'probabilities'];
  const binaryOutputs = new Set<OutputName>(allBinary ? outputs : []);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new HttpError(400, '"outputs" must be an array');
    binaryOutputs.clear();
    outputs = body.outputs.map((o: unknown) => {
      const name = isObject(o) ? o.name : undefined;
      if (name !== 'label' && name !== 'probabilities') throw new HttpError(400, `unknown output ${JSON.stringify(name)}: use "label" or "probabilities"`);
      const outputParameters = isObject(o) && isObject(o.parameters) ? o.parameters : {};
      for (const key of Object.keys(outputParameters)) {
        if (key !== 'binary_data') throw new HttpError(400, `output parameter "${key}" is not supported here (classification and shared memory are not)`);
      }
      if (wantsBinary(outputParameters) || (allBinary && outputParameters.binary_data === undefined)) binaryOutputs.add(name);
      return name;
    });
  }
  const id = typeof body.id === 'string' ? body.id : undefined;
  return { ...(id !== undefined ? { id } : {}), rows, outputs, binaryOutputs };
}

/** An encoded infer response: JSON alone, or a JSON header followed by binary tensors. */
export interface EncodedResponse {
  body: Buffer;
  /** Set when binary tensors follow the JSON header (`Inference-Header-Content-Length`). */
  headerLength?: number;
}

/** The infer response: `label` BYTES [N, 1] and `probabilities` FP32 [N, classes], row-major; binary where asked. */
export function inferResponse(model: RepositoryModel, request: InferRequest, predictions: Prediction[]): EncodedResponse {
  const n = predictions.length;
  const classes = model.labels.length;
  const blobs: Buffer[] = [];
  const outputs = request.outputs.map((name) => {
    const head = name === 'label' ? { name, datatype: 'BYTES', shape: [n, 1] } : { name, datatype: 'FP32', shape: [n, classes] };
    if (request.binaryOutputs.has(name)) {
      let blob: Buffer;
      if (name === 'label') {
        blob = encodeBinaryBytes(predictions.map((p) => p.label));
      } else {
        const floats = new Float32Array(n * classes);
        predictions.forEach((p, i) => floats.set(p.probabilities, i * classes));
        blob = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
      }
      blobs.push(blob);
      return { ...head, parameters: { binary_data_size: blob.length } };
    }
    return { ...head, data: name === 'label' ? predictions.map((p) => p.label) : predictions.flatMap((p) => Array.from(p.probabilities)) };
  });
  const json = Buffer.from(JSON.stringify({ model_name: model.name, model_version: '1', ...(request.id !== undefined ? { id: request.id } : {}), outputs }));
  return blobs.length === 0 ? { body: json } : { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
