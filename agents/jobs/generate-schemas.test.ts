import Ajv2020 from 'ajv/dist/2020.js';
import { DataJobSpec } from './data-spec.js';
import { driftedSchemas, renderAll } from './generate-schemas.js';
import { JOB_SCHEMAS } from './registry.js';

describe('generated job schemas', () => {
  it('committed schemas under images/jobs/schemas match the zod definitions', () => {
    expect(driftedSchemas()).toEqual([]);
  });

  it.each(Object.keys(JOB_SCHEMAS))('%s compiles as JSON Schema 2020-12', (name) => {
    const ajv = new Ajv2020.default({ strict: false });
    const text = renderAll().get(`${name}.schema.json`);
    expect(text).toBeDefined();
    expect(() => ajv.compile(JSON.parse(text as string))).not.toThrow();
  });

  it.each([
    { name: 'a minimal data spec is valid', spec: { task: 'text-classification', modality: 'text', sources: [{ name: 'a', uri: 'file:a.csv', format: 'csv' }] }, valid: true },
    { name: 'an unknown operation is rejected', spec: { task: 'text-classification', modality: 'text', sources: [{ name: 'a', uri: 'file:a.csv', format: 'csv' }], operations: [{ op: 'shuffle' }] }, valid: false },
    { name: 'a spec with no sources is rejected', spec: { task: 'text-classification', modality: 'text', sources: [] }, valid: false },
  ])('data-spec schema and zod agree: $name', ({ spec, valid }) => {
    const ajv = new Ajv2020.default({ strict: false });
    const validate = ajv.compile(JSON.parse(renderAll().get('data-spec.schema.json') as string));
    expect(validate(spec)).toBe(valid);
    expect(DataJobSpec.safeParse(spec).success).toBe(valid);
  });
});
