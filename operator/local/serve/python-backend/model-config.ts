import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePbtxt, type PbMessage, type PbValue } from './pbtxt.js';

/** KServe v2 datatypes by config.pbtxt data type. */
export const KSERVE_DATATYPE: Record<string, string> = {
  TYPE_BOOL: 'BOOL', TYPE_UINT8: 'UINT8', TYPE_UINT16: 'UINT16', TYPE_UINT32: 'UINT32', TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8', TYPE_INT16: 'INT16', TYPE_INT32: 'INT32', TYPE_INT64: 'INT64', TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32', TYPE_FP64: 'FP64', TYPE_STRING: 'BYTES',
};

/** One input or output of a model configuration. */
export interface TensorConfig {
  name: string;
  /** config.pbtxt's data type, e.g. TYPE_STRING. */
  dataType: string;
  /** KServe v2 datatype clients use, e.g. BYTES. */
  datatype: string;
  /** Dimensions clients send after the batch dimension (−1: any). */
  dims: number[];
  /** The shape the model sees after the batch dimension (`reshape`), when it differs from `dims`. */
  reshape?: number[];
  optional: boolean;
}

/** The parts of a Triton model configuration the local server acts on. */
export interface ModelConfig {
  name: string;
  backend?: string;
  platform?: string;
  maxBatchSize: number;
  inputs: TensorConfig[];
  outputs: TensorConfig[];
  instances: number;
  kind: 'KIND_CPU' | 'KIND_GPU' | 'KIND_AUTO';
  /** Dynamic batching's queue delay; undefined without dynamic batching. */
  queueDelayUs?: number;
  /** `parameters { key: ... value: { string_value: ... } }`. */
  parameters: Record<string, string>;
  /** The configuration as Triton gives it to a Python model (`args["model_config"]`, JSON). */
  json: Record<string, unknown>;
}

const one = (m: PbMessage, field: string): PbValue | undefined => m[field]?.[0];
const str = (m: PbMessage, field: string): string | undefined => {
  const v = one(m, field);
  return typeof v === 'string' ? v : undefined;
};
const num = (m: PbMessage, field: string): number | undefined => {
  const v = one(m, field);
  return typeof v === 'number' ? v : undefined;
};
const messages = (m: PbMessage, field: string): PbMessage[] => (m[field] ?? []).filter((v): v is PbMessage => typeof v === 'object');
const numbers = (m: PbMessage | undefined, field: string): number[] => (m?.[field] ?? []).filter((v): v is number => typeof v === 'number');

function tensor(m: PbMessage, where: string): TensorConfig {
  const name = str(m, 'name');
  const dataType = str(m, 'data_type');
  if (!name || !dataType) throw new Error(`${where}: every input and output needs a name and a data_type`);
  const datatype = KSERVE_DATATYPE[dataType];
  if (!datatype) throw new Error(`${where}: data type ${dataType} of ${name} is not supported here`);
  const reshapeMessage = messages(m, 'reshape')[0];
  return {
    name, dataType, datatype, dims: numbers(m, 'dims'),
    ...(reshapeMessage ? { reshape: numbers(reshapeMessage, 'shape') } : {}),
    optional: one(m, 'optional') === true,
  };
}

/** JSON of a text-format message the way Triton serialises ModelConfig (single fields unwrapped). */
function toJson(m: PbMessage, repeated: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, values] of Object.entries(m)) {
    const converted = values.map((v) => (typeof v === 'object' ? toJson(v, repeated) : v));
    out[field] = repeated.has(field) || converted.length > 1 ? converted : converted[0];
  }
  return out;
}

const REPEATED = new Set(['input', 'output', 'dims', 'shape', 'instance_group', 'preferred_batch_size', 'gpus']);

/** Read a model configuration from config.pbtxt text. */
export function readModelConfig(text: string, where = 'config.pbtxt'): ModelConfig {
  const root = parsePbtxt(text);
  const name = str(root, 'name');
  if (!name) throw new Error(`${where}: no model name`);
  const group = messages(root, 'instance_group')[0];
  const kind = (group && str(group, 'kind')) ?? 'KIND_AUTO';
  const parameters: Record<string, string> = {};
  for (const p of messages(root, 'parameters')) {
    const key = str(p, 'key');
    const value = messages(p, 'value')[0];
    const text = value ? str(value, 'string_value') : str(p, 'value');
    if (key && text !== undefined) parameters[key] = text;
  }
  const batching = messages(root, 'dynamic_batching')[0];
  const json = toJson(root, REPEATED);
  // Triton hands parameters to models as {"key": {"string_value": "..."}}.
  json.parameters = Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, { string_value: v }]));
  const backend = str(root, 'backend');
  const platform = str(root, 'platform');
  return {
    name,
    ...(backend ? { backend } : {}),
    ...(platform ? { platform } : {}),
    maxBatchSize: num(root, 'max_batch_size') ?? 0,
    inputs: messages(root, 'input').map((m) => tensor(m, where)),
    outputs: messages(root, 'output').map((m) => tensor(m, where)),
    instances: Math.max(1, (group && num(group, 'count')) ?? 1),
    kind: kind === 'KIND_GPU' || kind === 'KIND_CPU' ? kind : 'KIND_AUTO',
    ...(batching ? { queueDelayUs: num(batching, 'max_queue_delay_microseconds') ?? 0 } : {}),
    parameters,
    json,
  };
}

/** `<repositoryDir>/<model>/config.pbtxt`, read. */
export async function loadModelConfig(repositoryDir: string, model: string): Promise<ModelConfig> {
  const path = join(repositoryDir, model, 'config.pbtxt');
  return readModelConfig(await readFile(path, 'utf8'), path);
}

/** Whether the repository's model is a Python-backend model (served by a Python worker, not onnxruntime). */
export async function isPythonBackendModel(repositoryDir: string, model: string): Promise<boolean> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(model)) return false;
  try {
    const config = await loadModelConfig(repositoryDir, model);
    return config.backend === 'python';
  } catch {
    return false;
  }
}
