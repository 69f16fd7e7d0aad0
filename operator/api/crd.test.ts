import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { renderCrdYaml } from '../cli/crd.js';
import { TrainingRequest } from './training-request.js';

const repo = resolve(import.meta.dirname, '../..');

/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read the generated YAML by path */
const parse = (text: string): any => load(text);

/** OpenAPI v3.0 (the CRD's dialect) to the JSON Schema ajv checks: boolean exclusive bounds, nullable. */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  const s = schema as Record<string, unknown>;
  for (const [key, value] of Object.entries(s)) {
    if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum' || key === 'nullable') continue;
    out[key] = toJsonSchema(value);
  }
  if (s.exclusiveMinimum === true) {
    out.exclusiveMinimum = s.minimum;
    delete out.minimum;
  }
  if (s.exclusiveMaximum === true) {
    out.exclusiveMaximum = s.maximum;
    delete out.maximum;
  }
  if (s.nullable === true && typeof s.type === 'string') out.type = [s.type, 'null'];
  return out;
}

/** Every example TrainingRequest under examples/. */
function exampleRequests(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry) && /kind:\s*TrainingRequest/.test(readFileSync(path, 'utf8'))) found.push(path);
    }
  };
  walk(join(repo, 'examples'));
  return found;
}

describe('generated CRD', () => {
  it('matches the committed crds/ file (run `npm run crd` after changing the schema)', () => {
    expect(readFileSync(join(repo, 'crds/traineragent.io_trainingrequests.yaml'), 'utf8')).toBe(renderCrdYaml());
  });

  const crd = parse(renderCrdYaml());
  const version = crd.spec.versions[0];

  it.each([
    ['short name treq', () => expect(crd.spec.names.shortNames).toEqual(['treq'])],
    ['category ml', () => expect(crd.spec.names.categories).toEqual(['ml'])],
    ['status subresource', () => expect(version.subresources).toEqual({ status: {} })],
    ['requirement is immutable by CEL', () => expect(version.schema.openAPIV3Schema.properties.spec.properties.requirement['x-kubernetes-validations'][0].rule).toBe('self == oldSelf')],
    ['conditions are a map list keyed by type', () => {
      const conditions = version.schema.openAPIV3Schema.properties.status.properties.conditions;
      expect(conditions['x-kubernetes-list-type']).toBe('map');
      expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    }],
    ['printer columns', () => expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['Phase', 'Ready', 'Target met', 'Metric', 'Replicas', 'Endpoint', 'Age'])],
    ['structural: no anyOf, $ref or $schema anywhere', () => expect(JSON.stringify(crd)).not.toMatch(/"(anyOf|\$ref|\$schema|oneOf)"/)],
  ])('has %s', (_name, check) => check());
});

describe('example requests', () => {
  const crd = parse(renderCrdYaml());
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: its default export arrives wrapped under ESM.
  const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ?? addFormatsPlugin) as (a: Ajv) => Ajv;
  addFormats(ajv);
  const validateAgainstCrd = ajv.compile(toJsonSchema(crd.spec.versions[0].schema.openAPIV3Schema) as object);
  const examples = exampleRequests();

  it('exist', () => expect(examples.length).toBeGreaterThan(0));

  it.each(examples.map((p) => [p.slice(repo.length + 1), p]))('%s validates against the zod schema and the CRD', (_name, path) => {
    const request = parse(readFileSync(path, 'utf8'));
    expect(TrainingRequest.safeParse(request).error?.issues ?? []).toEqual([]);
    expect(validateAgainstCrd(request) ? [] : validateAgainstCrd.errors).toEqual([]);
  });
});

describe('TrainingRequest schema bounds', () => {
  const base = { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name: 'x' }, spec: { requirement: 'Classify emails as spam or ham.' } };
  it.each([
    ['more than 8 GPUs', { resources: { gpu: { count: 64 } } }],
    ['an empty requirement', { requirement: '' }],
    ['a data URI outside the allowed schemes', { data: [{ name: 'd', uri: 'ftp://host/x', format: 'csv' }] }],
    ['more than 20 attempts', { budget: { maxAttempts: 1000 } }],
    ['an approved plan that is not a hash', { approval: 'plan', approvedPlan: 'yes please' }],
  ])('rejects %s', (_name, patch) => {
    expect(TrainingRequest.safeParse({ ...base, spec: { ...base.spec, ...patch } }).success).toBe(false);
  });
});
