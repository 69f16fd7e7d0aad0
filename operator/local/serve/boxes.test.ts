import { describe, expect, it } from '@jest/globals';
import { boxResponse, parseBoxRequest, type BoxModel } from './boxes.js';
import { encodeBinaryBytes, HttpError } from './protocol.js';

const image = { kind: 'image' as const, height: 64, width: 64, channels: 3 as const, mean: [0.5], std: [0.5], scale: 1 / 255, layout: 'chw' as const };
const batching = { maxBatchSize: 4, queueDelayUs: 0, instances: 1 };
const grounding: BoxModel = { name: 'g', kind: 'grounding', onnxPath: '', labels: [], boxes: { image, tokenizer: { path: '', maxLength: 16 } }, batching };
const detection: BoxModel = { name: 'd', kind: 'detection', onnxPath: '', labels: ['mug', 'tin'], boxes: { image, maxDetections: 2 }, batching };
const bytes = (name: string, data: unknown, shape: unknown = [Array.isArray(data) ? data.length : 1, 1]) => ({ name, datatype: 'BYTES', shape, data });

function status(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return [error.status, error.message];
    throw error;
  }
  return [200, ''];
}

describe('parseBoxRequest', () => {
  it('reads a grounding row: an image and its query', () => {
    const request = parseBoxRequest({ id: 'r1', inputs: [bytes('query', ['red mug']), bytes('image', ['aGVsbG8='])] }, grounding, { maxRows: 4 });
    expect(request).toMatchObject({ id: 'r1', images: ['aGVsbG8='], queries: ['red mug'], outputs: ['boxes', 'scores'] });
  });

  it('reads both inputs from the binary tensor extension, in input order', () => {
    const images = encodeBinaryBytes(['aaaa', 'bbbb']);
    const queries = encodeBinaryBytes(['mug', 'tin']);
    const body = { inputs: [
      { name: 'image', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: images.length } },
      { name: 'query', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: queries.length } }],
    outputs: [{ name: 'boxes', parameters: { binary_data: true } }] };
    const request = parseBoxRequest(body, grounding, { maxRows: 4 }, Buffer.concat([images, queries]));
    expect(request).toMatchObject({ images: ['aaaa', 'bbbb'], queries: ['mug', 'tin'], outputs: ['boxes'] });
    expect([...request.binaryOutputs]).toEqual(['boxes']);
  });

  it.each([
    { name: 'a grounding request without a query', body: { inputs: [bytes('image', ['x'])] }, model: grounding, code: 400, says: 'expected "inputs" with "image" and "query"' },
    { name: 'an unknown input', body: { inputs: [bytes('image', ['x']), bytes('text', ['x'])] }, model: grounding, code: 400, says: 'unknown input "text"' },
    { name: 'rows that do not pair up', body: { inputs: [bytes('image', ['x', 'y']), bytes('query', ['q'])] }, model: grounding, code: 400, says: 'different row counts (2 and 1)' },
    { name: 'a query that is not a string', body: { inputs: [bytes('image', ['x']), bytes('query', [7])] }, model: grounding, code: 400, says: 'element 0 is not' },
    { name: 'a flat shape', body: { inputs: [bytes('image', ['x'], [1])] }, model: detection, code: 400, says: 'expected [N, 1]' },
    { name: 'more rows than max_batch_size', body: { inputs: [bytes('image', ['a', 'b', 'c', 'd', 'e'])] }, model: detection, code: 413, says: 'at most 4 per request' },
    { name: 'an output detection does not have', body: { inputs: [bytes('image', ['x'])], outputs: [{ name: 'probabilities' }] }, model: detection, code: 400, says: '"boxes", "labels", "scores", "count"' },
    { name: 'a query sent to a detector', body: { inputs: [bytes('image', ['x']), bytes('query', ['q'])] }, model: detection, code: 400, says: 'expected "inputs" with "image"' },
  ])('answers $code for $name', ({ body, model, code, says }) => {
    const [got, message] = status(() => parseBoxRequest(body, model, { maxRows: 4 }));
    expect(got).toBe(code);
    expect(message).toContain(says);
  });
});

describe('boxResponse', () => {
  it('answers grounding with boxes [N, 4] and scores [N, 1]', () => {
    const request = parseBoxRequest({ inputs: [bytes('image', ['x', 'y']), bytes('query', ['a', 'b'])] }, grounding, { maxRows: 4 });
    const out = JSON.parse(boxResponse(grounding, request, [
      { boxes: Float32Array.from([1, 2, 3, 4]), scores: Float32Array.from([0.5]) }, { boxes: Float32Array.from([5, 6, 7, 8]), scores: Float32Array.from([0.25]) },
    ]).body.toString()) as { outputs: unknown[] };
    expect(out.outputs).toEqual([
      { name: 'boxes', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] },
      { name: 'scores', datatype: 'FP32', shape: [2, 1], data: [0.5, 0.25] },
    ]);
  });

  it('answers detection with K padded boxes, labels, scores and the count, binary where asked', () => {
    const request = parseBoxRequest({ inputs: [bytes('image', ['x'])], outputs: [{ name: 'count', parameters: { binary_data: true } }, { name: 'labels' }, { name: 'boxes' }] }, detection, { maxRows: 4 });
    const encoded = boxResponse(detection, request, [{ boxes: Float32Array.from([1, 1, 9, 9, 0, 0, 0, 0]), scores: Float32Array.from([0.9, 0]), labels: ['tin', ''], count: 1 }]);
    const header = JSON.parse(encoded.body.subarray(0, encoded.headerLength).toString()) as { outputs: Record<string, unknown>[] };
    expect(header.outputs).toEqual([
      { name: 'count', datatype: 'INT32', shape: [1, 1], parameters: { binary_data_size: 4 } },
      { name: 'labels', datatype: 'BYTES', shape: [1, 2], data: ['tin', ''] },
      { name: 'boxes', datatype: 'FP32', shape: [1, 2, 4], data: [1, 1, 9, 9, 0, 0, 0, 0] },
    ]);
    expect(encoded.body.readInt32LE(encoded.headerLength!)).toBe(1);
  });
});
