import { describe, expect, it } from '@jest/globals';
import { HttpError } from './protocol.js';
import { parseTabularInferRequest, tabularBinaryBody, tabularConfig, tabularMetadata, tabularRequestBody, tabularResponse, type TabularModelInfo } from './tabular-protocol.js';

const classifier: TabularModelInfo = {
  name: 'churn',
  labels: ['no', 'yes'],
  tabular: {
    kind: 'tabular', task: 'classification',
    features: [
      { name: 'age', datatype: 'FP32', kind: 'numeric', column: 'Age' },
      { name: 'plan', datatype: 'BYTES', kind: 'categorical', column: 'plan' },
    ],
  },
  batching: { maxBatchSize: 4, queueDelayUs: 100, instances: 1 },
};
const regressor: TabularModelInfo = { ...classifier, name: 'price', labels: [], tabular: { ...classifier.tabular, task: 'regression' } };
const limits = { maxRows: 4 };

const age = (data: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'age', datatype: 'FP32', shape: [data.length, 1], data, ...extra });
const plan = (data: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'plan', datatype: 'BYTES', shape: [data.length, 1], data, ...extra });

/** The status and message of what parsing `body` throws. */
function refusal(body: unknown, model = classifier, binary?: Buffer): { status: number; message: string } {
  try {
    parseTabularInferRequest(body, model, limits, binary);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('the request was accepted');
}

describe('parseTabularInferRequest', () => {
  it('takes one [N, 1] input per feature, in any order, as rows in the model\'s feature order', () => {
    const request = parseTabularInferRequest({ id: 'r1', inputs: [plan(['gold', '']), age([41, [7.5]])] }, classifier, limits);
    expect(request.rows).toEqual([[41, 'gold'], [7.5, '']]);
    expect(request.outputs).toEqual(['label', 'probabilities']);
    expect(request.id).toBe('r1');
  });

  it.each([
    { name: 'a missing feature input is named, with its type and source column', body: { inputs: [plan(['gold'])] }, status: 400, says: /missing input "age" \(FP32 \[N, 1\], a number, column "Age"\)/ },
    { name: 'a numeric feature sent as BYTES names the feature and the datatype it needs', body: { inputs: [{ ...age([1]), datatype: 'BYTES' }, plan(['a'])] }, status: 400, says: /input "age" must have datatype FP32 \(a numeric feature\), got "BYTES"/ },
    { name: 'a categorical feature sent as FP32 names the feature', body: { inputs: [age([1]), { ...plan([1]), datatype: 'FP32' }] }, status: 400, says: /input "plan" must have datatype BYTES/ },
    { name: 'a string in an FP32 input names the feature and the element', body: { inputs: [age([1, 'forty']), plan(['a', 'b'])] }, status: 400, says: /input "age" is FP32: element 1 must be a number, got "forty"/ },
    { name: 'null in an FP32 input says how to send a missing number', body: { inputs: [age([null]), plan(['a'])] }, status: 400, says: /input "age".*JSON has no NaN/ },
    { name: 'a number in a BYTES input names the feature', body: { inputs: [age([1]), plan([3])] }, status: 400, says: /input "plan" is BYTES: element 0 must be a string/ },
    { name: 'an unknown input lists the inputs the model takes', body: { inputs: [age([1]), plan(['a']), { name: 'income', datatype: 'FP32', shape: [1, 1], data: [1] }] }, status: 400, says: /unknown input "income": this model takes "age", "plan"/ },
    { name: 'a repeated input is refused', body: { inputs: [age([1]), age([2]), plan(['a'])] }, status: 400, says: /input "age" is given twice/ },
    { name: 'inputs with different N are refused', body: { inputs: [age([1, 2]), plan(['a'])] }, status: 400, says: /input "plan" has 1 rows but the inputs before it have 2/ },
    { name: 'a flat [N] shape is refused with Triton\'s reason', body: { inputs: [{ ...age([1]), shape: [1] }, plan(['a'])] }, status: 400, says: /unexpected shape for input "age".*\[N, 1\]/ },
    { name: 'more rows than max_batch_size: 413', body: { inputs: [age([1, 2, 3, 4, 5]), plan(['a', 'b', 'c', 'd', 'e'])] }, status: 413, says: /at most 4 per request/ },
    { name: 'no inputs at all lists the features', body: { inputs: [] }, status: 400, says: /one tensor per feature \("age", "plan"\)/ },
    { name: 'an unknown output is refused', body: { inputs: [age([1]), plan(['a'])], outputs: [{ name: 'prediction' }] }, status: 400, says: /unknown output "prediction": use "label" or "probabilities"/ },
  ])('$name', ({ body, status, says }) => {
    const got = refusal(body);
    expect(got.status).toBe(status);
    expect(got.message).toMatch(says);
  });

  it('reads FP32 (NaN: a missing number) and BYTES inputs from binary data, in input order', () => {
    const { body, headerLength } = tabularBinaryBody(classifier, [{ age: 30, plan: 'gold' }, { plan: 'basic' }]);
    const request = parseTabularInferRequest(JSON.parse(body.subarray(0, headerLength).toString()), classifier, limits, body.subarray(headerLength));
    expect(request.rows[0]).toEqual([30, 'gold']);
    expect(Number.isNaN(request.rows[1]![0])).toBe(true);
    expect(request.rows[1]![1]).toBe('basic');
  });

  it.each([
    { name: 'FP32 binary data of the wrong length names the feature', cut: 1, says: /input "age" is FP32 \[2, 1\]: its binary data must be 8 bytes/ },
    { name: 'bytes left over after every input are refused', cut: -3, says: /3 bytes after the JSON header belong to no input/ },
  ])('$name', ({ cut, says }) => {
    const { body, headerLength } = tabularBinaryBody(classifier, [{ age: 30, plan: 'gold' }, { age: 31, plan: 'basic' }]);
    const header = JSON.parse(body.subarray(0, headerLength).toString());
    let binary = body.subarray(headerLength);
    if (cut > 0) header.inputs[0].parameters.binary_data_size -= cut;
    else binary = Buffer.concat([binary, Buffer.alloc(-cut)]);
    expect(refusal(header, classifier, binary).message).toMatch(says);
  });

  it('a regressor answers prediction only', () => {
    expect(parseTabularInferRequest({ inputs: [age([1]), plan(['a'])] }, regressor, limits).outputs).toEqual(['prediction']);
    expect(refusal({ inputs: [age([1]), plan(['a'])], outputs: [{ name: 'label' }] }, regressor).message).toMatch(/use "prediction"/);
  });
});

describe('tabularResponse', () => {
  it('answers label [N, 1] and probabilities [N, classes] as JSON', () => {
    const request = parseTabularInferRequest({ inputs: [age([1, 2]), plan(['a', 'b'])] }, classifier, limits);
    const out = JSON.parse(tabularResponse(classifier, request, [
      { label: 'no', probabilities: new Float32Array([0.75, 0.25]) }, { label: 'yes', probabilities: new Float32Array([0.5, 0.5]) },
    ]).body.toString());
    expect(out.outputs).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [2, 1], data: ['no', 'yes'] },
      { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.75, 0.25, 0.5, 0.5] },
    ]);
  });

  it('answers a regressor\'s prediction [N, 1] as binary FP32 when asked', () => {
    const request = parseTabularInferRequest({ inputs: [age([1, 2]), plan(['a', 'b'])], parameters: { binary_data_output: true } }, regressor, limits);
    const encoded = tabularResponse(regressor, request, [{ prediction: 1.5 }, { prediction: -2 }]);
    const header = JSON.parse(encoded.body.subarray(0, encoded.headerLength).toString());
    expect(header.outputs).toEqual([{ name: 'prediction', datatype: 'FP32', shape: [2, 1], parameters: { binary_data_size: 8 } }]);
    const floats = encoded.body.subarray(encoded.headerLength!);
    expect([floats.readFloatLE(0), floats.readFloatLE(4)]).toEqual([1.5, -2]);
  });
});

describe('tabular metadata and config', () => {
  it('list one [-1, 1] input per feature with its datatype, as Triton reports config.pbtxt', () => {
    expect(tabularMetadata(classifier).inputs).toEqual([{ name: 'age', datatype: 'FP32', shape: [-1, 1] }, { name: 'plan', datatype: 'BYTES', shape: [-1, 1] }]);
    expect(tabularMetadata(regressor).outputs).toEqual([{ name: 'prediction', datatype: 'FP32', shape: [-1, 1] }]);
    const config = tabularConfig(classifier) as { input: unknown[]; max_batch_size: number };
    expect(config.input).toEqual([{ name: 'age', data_type: 'TYPE_FP32', dims: [1] }, { name: 'plan', data_type: 'TYPE_STRING', dims: [1] }]);
    expect(config.max_batch_size).toBe(4);
  });

  it('builds JSON request bodies the parser takes back', () => {
    const body = JSON.parse(tabularRequestBody(classifier, [{ age: 3, plan: 'gold' }, { age: 4 }]));
    expect(parseTabularInferRequest(body, classifier, limits).rows).toEqual([[3, 'gold'], [4, '']]);
  });
});
