import { describe, expect, it } from '@jest/globals';
import { renderConfig, repositoryConfigs } from './triton-repository.js';

const cpu = { instances: 2, maxBatchSize: 16, accelerator: 'cpu' };

describe('repositoryConfigs', () => {
  it('writes one ONNX Runtime model with BYTES text, dynamic batching and the estimate\'s instances for a text model', () => {
    const files = repositoryConfigs({ model: 'spam', modality: 'text', classes: 2 }, cpu);
    expect(Object.keys(files)).toEqual(['spam/config.pbtxt']);
    expect(files['spam/config.pbtxt']).toBe([
      'name: "spam"',
      'platform: "onnxruntime_onnx"',
      'max_batch_size: 16',
      'input [\n  { name: "text" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } }\n]',
      'output [\n  { name: "label" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } },\n  { name: "probabilities" data_type: TYPE_FP32 dims: [ 2 ] }\n]',
      'instance_group [ { count: 2 kind: KIND_CPU } ]',
      'dynamic_batching {\n  preferred_batch_size: [ 16 ]\n  max_queue_delay_microseconds: 500\n}',
    ].join('\n') + '\n');
  });

  it('writes an ensemble (Python preprocessing → ONNX) taking BYTES image for an image model', () => {
    const files = repositoryConfigs({ model: 'digits', modality: 'image', classes: 10, pixelDims: [64] }, cpu);
    expect(Object.keys(files).sort()).toEqual(['digits/config.pbtxt', 'digits_onnx/config.pbtxt', 'digits_preprocess/config.pbtxt']);
    expect(files['digits/config.pbtxt']).toContain('platform: "ensemble"');
    expect(files['digits/config.pbtxt']).toContain('{ name: "image" data_type: TYPE_STRING');
    expect(files['digits/config.pbtxt']).toMatch(/model_name: "digits_preprocess"[\s\S]*model_name: "digits_onnx"/);
    expect(files['digits/config.pbtxt']).not.toContain('instance_group');
    expect(files['digits_preprocess/config.pbtxt']).toContain('backend: "python"');
    expect(files['digits_onnx/config.pbtxt']).toContain('{ name: "pixels" data_type: TYPE_FP32 dims: [ 64 ] }');
  });

  it.each([
    { name: 'a GPU estimate uses KIND_GPU and, with TensorRT, its accelerator', accelerator: 'nvidia-l4', tensorrt: true, kind: 'KIND_GPU', trt: true },
    { name: 'a GPU without TensorRT stays on ONNX Runtime', accelerator: 'gpu', tensorrt: false, kind: 'KIND_GPU', trt: false },
    { name: 'TensorRT is never asked for on CPU', accelerator: 'cpu', tensorrt: true, kind: 'KIND_CPU', trt: false },
  ])('$name', ({ accelerator, tensorrt, kind, trt }) => {
    const text = repositoryConfigs({ model: 'm', modality: 'text', classes: 3, tensorrt }, { ...cpu, accelerator })['m/config.pbtxt']!;
    expect(text).toContain(`kind: ${kind}`);
    expect(text.includes('name: "tensorrt"')).toBe(trt);
  });

  it('refuses an image model without pixel dims', () => {
    expect(() => repositoryConfigs({ model: 'm', modality: 'image', classes: 2 }, cpu)).toThrow(/pixelDims/);
  });

  it('omits dynamic batching when no queue delay is given', () => {
    expect(renderConfig({ name: 'x', maxBatchSize: 4, inputs: [], outputs: [] })).not.toContain('dynamic_batching');
  });
});
