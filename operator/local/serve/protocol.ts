import type { Prediction } from './model.js';
import type { RepositoryModel } from './repository.js';

/** An error the client caused (or a server state), answered as `{"error": message}` with `status`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
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

/** `GET /v2/models/<model>`: name, versions, platform, inputs and outputs (−1 = any size). */
export function modelMetadata(model: RepositoryModel): {
  name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[];
} {
  return {
    name: model.name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: inputName(model), datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] },
    ],
  };
}

/** A validated inference request: the rows of the one input and the outputs to return. */
export interface InferRequest {
  id?: string;
  rows: string[];
  outputs: ('label' | 'probabilities')[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
}

/**
 * Validate a parsed `POST /v2/models/<model>/infer` body (JSON, no binary extension): exactly one input
 * named `text`/`image`, datatype BYTES, shape [N] or [N, 1], N strings; optional `outputs` selection.
 */
export function parseInferRequest(body: unknown, model: RepositoryModel): InferRequest {
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
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2 || !shape.every((d) => Number.isInteger(d) && d >= 0)
    || (shape.length === 2 && shape[1] !== 1)) {
    throw new HttpError(400, `input "${expected}" shape must be [N] or [N, 1]`);
  }
  const n = shape[0] as number;
  const rows: unknown[] = [];
  flatten(input.data, rows);
  if (rows.length !== n) throw new HttpError(400, `input "${expected}" has ${rows.length} elements but shape says ${n}`);
  if (n === 0) throw new HttpError(400, `input "${expected}" is empty`);
  if (!rows.every((r): r is string => typeof r === 'string')) throw new HttpError(400, `input "${expected}" data must be strings`);
  let outputs: ('label' | 'probabilities')[] = ['label', 'probabilities'];
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new HttpError(400, '"outputs" must be an array');
    outputs = body.outputs.map((o: unknown) => {
      const name = isObject(o) ? o.name : undefined;
      if (name !== 'label' && name !== 'probabilities') throw new HttpError(400, `unknown output ${JSON.stringify(name)}: use "label" or "probabilities"`);
      return name;
    });
  }
  const id = typeof body.id === 'string' ? body.id : undefined;
  return { ...(id !== undefined ? { id } : {}), rows, outputs };
}

/** The infer response: `label` BYTES [N] and `probabilities` FP32 [N, classes], row-major. */
export function inferResponse(model: RepositoryModel, request: InferRequest, predictions: Prediction[]): Record<string, unknown> {
  const n = predictions.length;
  const classes = model.labels.length;
  const outputs = request.outputs.map((name) => name === 'label'
    ? { name, datatype: 'BYTES', shape: [n], data: predictions.map((p) => p.label) }
    : { name, datatype: 'FP32', shape: [n, classes], data: predictions.flatMap((p) => Array.from(p.probabilities)) });
  return { model_name: model.name, model_version: '1', ...(request.id !== undefined ? { id: request.id } : {}), outputs };
}
