import type { Estimate } from './estimate.js';

/** A tensor in config.pbtxt; empty `dims` = one value per batch row (clients send [N, 1]). */
export interface TritonTensor {
  name: string;
  dataType: 'TYPE_STRING' | 'TYPE_FP32' | 'TYPE_INT64';
  dims: number[];
}

/** Settings of one model's config.pbtxt. */
export interface TritonModelConfig {
  name: string;
  /** `onnxruntime_onnx` or `ensemble`; for Python-backend models use `backend: 'python'` instead. */
  platform?: 'onnxruntime_onnx' | 'ensemble';
  backend?: 'python';
  maxBatchSize: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  /** Model instances (ignored for ensembles). */
  instances?: number;
  gpu?: boolean;
  /** Dynamic batching queue delay in µs; undefined: no dynamic batching. */
  queueDelayUs?: number;
  /** Add the TensorRT execution accelerator to ONNX Runtime (GPU only). */
  tensorrt?: boolean;
  /** Ensemble steps: model name with input/output maps (ensemble tensor ← → step tensor). */
  steps?: { model: string; inputMap: Record<string, string>; outputMap: Record<string, string> }[];
}

const tensor = (t: TritonTensor): string => t.dims.length === 0
  ? `  { name: "${t.name}" data_type: ${t.dataType} dims: [ 1 ] reshape: { shape: [ ] } }`
  : `  { name: "${t.name}" data_type: ${t.dataType} dims: [ ${t.dims.join(', ')} ] }`;

/** Render config.pbtxt text (same format as the conversion job's images/.../convert/triton.py). */
export function renderConfig(c: TritonModelConfig): string {
  const lines = [`name: "${c.name}"`, c.backend ? `backend: "${c.backend}"` : `platform: "${c.platform ?? 'onnxruntime_onnx'}"`,
    `max_batch_size: ${c.maxBatchSize}`,
    `input [\n${c.inputs.map(tensor).join(',\n')}\n]`, `output [\n${c.outputs.map(tensor).join(',\n')}\n]`];
  const ensemble = c.platform === 'ensemble';
  if (!ensemble) lines.push(`instance_group [ { count: ${c.instances ?? 1} kind: ${c.gpu && !c.backend ? 'KIND_GPU' : 'KIND_CPU'} } ]`);
  if (!ensemble && c.queueDelayUs !== undefined) {
    lines.push(`dynamic_batching {\n  preferred_batch_size: [ ${c.maxBatchSize} ]\n  max_queue_delay_microseconds: ${c.queueDelayUs}\n}`);
  }
  if (c.tensorrt && c.gpu && c.platform !== 'ensemble' && !c.backend) {
    lines.push('optimization { execution_accelerators { gpu_execution_accelerator: [ { name: "tensorrt" } ] } }');
  }
  let text = `${lines.join('\n')}\n`;
  if (ensemble && c.steps?.length) {
    const maps = (kind: string, m: Record<string, string>): string[] =>
      Object.entries(m).map(([key, value]) => `      ${kind} { key: "${key}" value: "${value}" }`);
    text += `ensemble_scheduling {\n  step [\n${c.steps.map((s) => [`    { model_name: "${s.model}" model_version: -1`,
      ...maps('input_map', s.inputMap), ...maps('output_map', s.outputMap)].join('\n') + ' }').join(',\n')}\n  ]\n}\n`;
  }
  return text;
}

/** What the repository serves. */
export interface RepositoryModelSpec {
  model: string;
  modality: 'text' | 'image';
  classes: number;
  /** Per-row pixel dims of the ONNX input for image models ([H·W·C] or [C, H, W]). */
  pixelDims?: number[];
  /** Dynamic batching delay; 500 µs unless said otherwise. */
  queueDelayUs?: number;
  /** TensorRT present on the GPU nodes. */
  tensorrt?: boolean;
}

/**
 * config.pbtxt files of the repository, sized by the estimate (instances, max batch, GPU or CPU),
 * keyed by path relative to the repository root. Text: one ONNX model. Image: ensemble of a Python
 * preprocessing model and the ONNX model, so clients send BYTES `image` like the local server takes.
 */
export function repositoryConfigs(spec: RepositoryModelSpec, estimate: Pick<Estimate, 'instances' | 'maxBatchSize' | 'accelerator'>): Record<string, string> {
  const gpu = estimate.accelerator.toLowerCase() !== 'cpu';
  const common = { maxBatchSize: estimate.maxBatchSize, instances: Math.max(1, estimate.instances), gpu,
    queueDelayUs: spec.queueDelayUs ?? 500, tensorrt: spec.tensorrt ?? false };
  const outputs: TritonTensor[] = [{ name: 'label', dataType: 'TYPE_STRING', dims: [] }, { name: 'probabilities', dataType: 'TYPE_FP32', dims: [spec.classes] }];
  if (spec.modality === 'text') {
    return { [`${spec.model}/config.pbtxt`]: renderConfig({ name: spec.model, platform: 'onnxruntime_onnx', ...common,
      inputs: [{ name: 'text', dataType: 'TYPE_STRING', dims: [] }], outputs }) };
  }
  if (!spec.pixelDims?.length) throw new Error('image models need pixelDims');
  const onnx = `${spec.model}_onnx`;
  const pre = `${spec.model}_preprocess`;
  const pixels: TritonTensor = { name: 'pixels', dataType: 'TYPE_FP32', dims: spec.pixelDims };
  const image: TritonTensor = { name: 'image', dataType: 'TYPE_STRING', dims: [] };
  return {
    [`${spec.model}/config.pbtxt`]: renderConfig({ name: spec.model, platform: 'ensemble', maxBatchSize: estimate.maxBatchSize,
      inputs: [image], outputs, steps: [
        { model: pre, inputMap: { image: 'image' }, outputMap: { pixels: 'pixels' } },
        { model: onnx, inputMap: { pixels: 'pixels' }, outputMap: { label: 'label', probabilities: 'probabilities' } }] }),
    [`${pre}/config.pbtxt`]: renderConfig({ name: pre, backend: 'python', ...common, gpu: false, inputs: [image], outputs: [pixels] }),
    [`${onnx}/config.pbtxt`]: renderConfig({ name: onnx, platform: 'onnxruntime_onnx', ...common, inputs: [pixels], outputs }),
  };
}
