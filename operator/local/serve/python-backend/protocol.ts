import { decodeBinaryBytes, encodeBinaryBytes, HttpError } from '../protocol.js';
import type { ModelConfig, TensorConfig } from './model-config.js';
import type { WireRequest, WireTensor } from './worker.js';

// KServe v2 inference for any model a config.pbtxt describes: inputs and outputs are checked against the
// configuration as Triton checks them (names, datatypes, [N, ...dims] with 1 ≤ N ≤ max_batch_size,
// optional inputs), as JSON or with the binary tensor extension.

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Bytes per element of the fixed-size datatypes (binary tensor extension). */
const WIDTH: Record<string, number> = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8 };
const INTEGER = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64']);

/** A validated request: the batch size, the tensors for the worker, the outputs to return and how. */
export interface ModelInferRequest {
  id?: string;
  batch: number;
  request: WireRequest;
  outputs: { name: string; binary: boolean }[];
}

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The client's shape for a tensor: [N, ...dims] when the model batches. */
function expectedShape(config: ModelConfig, tensor: TensorConfig): string {
  return JSON.stringify(config.maxBatchSize > 0 ? [-1, ...tensor.dims] : tensor.dims);
}

/** Flatten `data` to at most `depth` levels of lists without recursion (a hostile nesting is a 400, not a crash). */
function flatten(data: unknown, depth: number, name: string): unknown[] {
  if (!Array.isArray(data)) throw new HttpError(400, `input "${name}" needs "data" as a list (or parameters.binary_data_size)`);
  let level: unknown[] = data;
  for (let d = 1; d < depth && level.some(Array.isArray); d += 1) {
    const next: unknown[] = [];
    for (const x of level) {
      if (Array.isArray(x)) for (const y of x) next.push(y);
      else next.push(x);
    }
    level = next;
  }
  if (level.some(Array.isArray)) throw new HttpError(400, `input "${name}" data is nested deeper than its shape`);
  return level;
}

function jsonElements(values: unknown[], datatype: string, name: string): (string | number | boolean)[] {
  return values.map((v, i) => {
    if (datatype === 'BYTES') {
      if (typeof v !== 'string') throw new HttpError(400, `input "${name}" element ${i} must be a string`);
      return Buffer.from(v, 'utf8').toString('base64');
    }
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') throw new HttpError(400, `input "${name}" element ${i} must be true or false`);
      return v;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || (INTEGER.has(datatype) && !Number.isInteger(v))) {
      throw new HttpError(400, `input "${name}" element ${i} must be ${INTEGER.has(datatype) ? 'an integer' : 'a number'} (${datatype})`);
    }
    return v;
  });
}

function binaryElements(buffer: Buffer, count: number, datatype: string, name: string): (string | number | boolean)[] {
  if (datatype === 'BYTES') return decodeBinaryBytes(buffer, count, name).map((s) => Buffer.from(s, 'utf8').toString('base64'));
  const width = WIDTH[datatype]!;
  if (buffer.length !== count * width) throw new HttpError(400, `input "${name}" carries ${buffer.length} bytes; ${count} ${datatype} elements are ${count * width}`);
  const out: (number | boolean)[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = i * width;
    switch (datatype) {
      case 'BOOL': out.push(buffer.readUInt8(at) !== 0); break;
      case 'UINT8': out.push(buffer.readUInt8(at)); break;
      case 'INT8': out.push(buffer.readInt8(at)); break;
      case 'UINT16': out.push(buffer.readUInt16LE(at)); break;
      case 'INT16': out.push(buffer.readInt16LE(at)); break;
      case 'UINT32': out.push(buffer.readUInt32LE(at)); break;
      case 'INT32': out.push(buffer.readInt32LE(at)); break;
      case 'UINT64': out.push(Number(buffer.readBigUInt64LE(at))); break;
      case 'INT64': out.push(Number(buffer.readBigInt64LE(at))); break;
      case 'FP32': out.push(buffer.readFloatLE(at)); break;
      case 'FP64': out.push(buffer.readDoubleLE(at)); break;
      default: throw new HttpError(400, `input "${name}": binary ${datatype} is not supported here`);
    }
  }
  return out;
}

/**
 * Validate `POST /v2/models/<model>/infer` for a configured model. `binary` is what follows the JSON
 * header when the binary tensor extension is used.
 */
export function parseModelInferRequest(body: unknown, config: ModelConfig, maxRows: number, binary?: Buffer): ModelInferRequest {
  if (!isObject(body)) throw new HttpError(400, 'request body must be a JSON object');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw new HttpError(400, `expected "inputs": ${config.inputs.map((i) => i.name).join(', ')}`);
  const seen = new Set<string>();
  const tensors: WireTensor[] = [];
  let batch: number | undefined;
  let offset = 0;
  for (const raw of body.inputs as unknown[]) {
    if (!isObject(raw)) throw new HttpError(400, 'each input must be an object');
    const tensor = config.inputs.find((t) => t.name === raw.name);
    if (!tensor) throw new HttpError(400, `unknown input ${JSON.stringify(raw.name)}: this model takes ${config.inputs.map((t) => `"${t.name}"`).join(', ')}`);
    if (seen.has(tensor.name)) throw new HttpError(400, `input "${tensor.name}" is given twice`);
    seen.add(tensor.name);
    if (raw.datatype !== tensor.datatype) throw new HttpError(400, `input "${tensor.name}" must have datatype ${tensor.datatype}`);
    const shape = raw.shape;
    const wanted = config.maxBatchSize > 0 ? tensor.dims.length + 1 : tensor.dims.length;
    if (!Array.isArray(shape) || shape.length !== wanted || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw new HttpError(400, `unexpected shape for input "${tensor.name}": expected ${expectedShape(config, tensor)}, got ${JSON.stringify(shape)}`);
    }
    const dims = (config.maxBatchSize > 0 ? shape.slice(1) : shape) as number[];
    if (dims.some((d, i) => tensor.dims[i] !== -1 && tensor.dims[i] !== d)) {
      throw new HttpError(400, `unexpected shape for input "${tensor.name}": expected ${expectedShape(config, tensor)}, got ${JSON.stringify(shape)}`);
    }
    if (config.maxBatchSize > 0) {
      const n = shape[0] as number;
      if (n === 0) throw new HttpError(400, `input "${tensor.name}" is empty`);
      if (n > maxRows) throw new HttpError(413, `the request has ${n} rows; this model takes at most ${maxRows} per request (max_batch_size ${config.maxBatchSize}, as Triton)`);
      if (batch !== undefined && n !== batch) throw new HttpError(400, `input "${tensor.name}" has ${n} rows, another input ${batch}`);
      batch = n;
    }
    const count = product(shape as number[]);
    const parameters = isObject(raw.parameters) ? raw.parameters : {};
    for (const key of Object.keys(parameters)) {
      if (key !== 'binary_data_size') throw new HttpError(400, `input parameter "${key}" is not supported here`);
    }
    let data: (string | number | boolean)[];
    if (parameters.binary_data_size !== undefined) {
      const size = parameters.binary_data_size;
      if (!Number.isInteger(size) || (size as number) < 0 || !binary || offset + (size as number) > binary.length) {
        throw new HttpError(400, `input "${tensor.name}" declares ${String(size)} bytes of binary data that the body does not carry`);
      }
      if (raw.data !== undefined) throw new HttpError(400, `input "${tensor.name}" has both "data" and binary data`);
      data = binaryElements(binary.subarray(offset, offset + (size as number)), count, tensor.datatype, tensor.name);
      offset += size as number;
    } else {
      const flat = flatten(raw.data, (shape as number[]).length, tensor.name);
      if (flat.length !== count) throw new HttpError(400, `input "${tensor.name}" has ${flat.length} elements but shape ${JSON.stringify(shape)} says ${count}`);
      data = jsonElements(flat, tensor.datatype, tensor.name);
    }
    const n = config.maxBatchSize > 0 ? (shape[0] as number) : undefined;
    const modelShape = tensor.reshape ? [...(n !== undefined ? [n] : []), ...tensor.reshape] : (shape as number[]);
    tensors.push({ name: tensor.name, datatype: tensor.datatype, shape: modelShape, data });
  }
  if (binary && offset !== binary.length) throw new HttpError(400, `${binary.length - offset} bytes after the JSON header belong to no input`);
  const missing = config.inputs.filter((t) => !t.optional && !seen.has(t.name)).map((t) => `"${t.name}"`);
  if (missing.length) throw new HttpError(400, `missing input ${missing.join(', ')}`);
  const requestParameters = isObject(body.parameters) ? body.parameters : {};
  const allBinary = requestParameters.binary_data_output === true;
  let outputs = config.outputs.map((o) => ({ name: o.name, binary: allBinary }));
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new HttpError(400, '"outputs" must be an array');
    outputs = (body.outputs as unknown[]).map((o) => {
      const name = isObject(o) ? o.name : undefined;
      if (!config.outputs.some((c) => c.name === name)) throw new HttpError(400, `unknown output ${JSON.stringify(name)}: this model has ${config.outputs.map((c) => `"${c.name}"`).join(', ')}`);
      const p = isObject(o) && isObject(o.parameters) ? o.parameters : {};
      for (const key of Object.keys(p)) if (key !== 'binary_data') throw new HttpError(400, `output parameter "${key}" is not supported here`);
      return { name: name as string, binary: p.binary_data === true || (allBinary && p.binary_data === undefined) };
    });
  }
  const id = typeof body.id === 'string' ? body.id : undefined;
  return {
    ...(id !== undefined ? { id } : {}),
    batch: batch ?? 1,
    request: { ...(id !== undefined ? { id } : {}), inputs: tensors, outputs: outputs.map((o) => o.name) },
    outputs,
  };
}

/** The KServe v2 response for the model's answer: JSON data, or a JSON header and binary tensors. */
export function modelInferResponse(config: ModelConfig, parsed: ModelInferRequest, produced: WireTensor[]): { body: Buffer; headerLength?: number } {
  const blobs: Buffer[] = [];
  const outputs = parsed.outputs.map(({ name, binary }) => {
    const tensor = produced.find((t) => t.name === name);
    if (!tensor) throw new Error(`the model returned no output "${name}"`);
    const declared = config.outputs.find((o) => o.name === name)!;
    if (tensor.datatype !== declared.datatype) throw new Error(`the model returned ${tensor.datatype} for output "${name}", declared ${declared.datatype}`);
    // An output the model returns as [N] with dims [1] reshape [] reaches clients as [N, 1], as in Triton.
    const shape = declared.reshape && config.maxBatchSize > 0 ? [parsed.batch, ...declared.dims] : tensor.shape;
    const values = tensor.datatype === 'BYTES' ? tensor.data.map((x) => Buffer.from(String(x), 'base64').toString('utf8')) : tensor.data;
    if (!binary) return { name, datatype: tensor.datatype, shape, data: values };
    const blob = tensor.datatype === 'BYTES' ? encodeBinaryBytes(values as string[]) : numericBlob(values as (number | boolean)[], tensor.datatype);
    blobs.push(blob);
    return { name, datatype: tensor.datatype, shape, parameters: { binary_data_size: blob.length } };
  });
  const json = Buffer.from(JSON.stringify({ model_name: config.name, model_version: '1', ...(parsed.id !== undefined ? { id: parsed.id } : {}), outputs }));
  return blobs.length === 0 ? { body: json } : { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}

function numericBlob(values: (number | boolean)[], datatype: string): Buffer {
  const width = WIDTH[datatype];
  if (!width) throw new Error(`binary ${datatype} output is not supported here`);
  const out = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    const at = i * width;
    const x = typeof v === 'boolean' ? Number(v) : v;
    switch (datatype) {
      case 'BOOL': case 'UINT8': out.writeUInt8(x, at); break;
      case 'INT8': out.writeInt8(x, at); break;
      case 'UINT16': out.writeUInt16LE(x, at); break;
      case 'INT16': out.writeInt16LE(x, at); break;
      case 'UINT32': out.writeUInt32LE(x, at); break;
      case 'INT32': out.writeInt32LE(x, at); break;
      case 'UINT64': out.writeBigUInt64LE(BigInt(x), at); break;
      case 'INT64': out.writeBigInt64LE(BigInt(x), at); break;
      case 'FP32': out.writeFloatLE(x, at); break;
      case 'FP64': out.writeDoubleLE(x, at); break;
      default: throw new Error(`binary ${datatype} output is not supported here`);
    }
  });
  return out;
}

/** `GET /v2/models/<model>`: inputs and outputs as clients see them (batch dimension −1 prepended). */
export function configuredMetadata(config: ModelConfig): Record<string, unknown> {
  const shape = (t: TensorConfig) => (config.maxBatchSize > 0 ? [-1, ...t.dims] : t.dims);
  return {
    name: config.name, versions: ['1'], platform: config.backend ?? config.platform ?? 'python',
    inputs: config.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: shape(t) })),
    outputs: config.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: shape(t) })),
  };
}
