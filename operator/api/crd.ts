import { z } from 'zod';
import { CATEGORIES, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, TrainingRequestSpec, TrainingRequestStatus, VERSION } from './training-request.js';

type JsonSchema = { [key: string]: unknown };

/**
 * Turn zod's JSON Schema into a Kubernetes structural schema: no `$schema`/`propertyNames`,
 * nullable instead of `anyOf [T, null]`, no JavaScript safe-integer bounds, `additionalProperties`
 * only for maps, and `x-kubernetes-*` metadata kept.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  if (Array.isArray(schema)) return schema.map((s) => toStructural(s as JsonSchema)) as unknown as JsonSchema;
  if (schema === null || typeof schema !== 'object') return schema;
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (anyOf && anyOf.length === 2 && anyOf.some((s) => s.type === 'null')) {
    const inner = anyOf.find((s) => s.type !== 'null')!;
    const { anyOf: _drop, ...rest } = schema;
    return toStructural({ ...inner, ...rest, nullable: true });
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === 'propertyNames' || key === 'id') continue;
    if ((key === 'minimum' && value === -9007199254740991) || (key === 'maximum' && value === 9007199254740991)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    // OpenAPI v3.0 (what the API server speaks): exclusive bounds are booleans next to the bound.
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
      continue;
    }
    if (key === 'const') {
      out.enum = [value];
      continue;
    }
    if (key === 'format' && value === 'uri') continue; // kube-apiserver accepts only its own formats
    if (key === 'pattern' && typeof value === 'string') {
      out[key] = value;
      continue;
    }
    if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value as JsonSchema).map(([k, v]) => [k, toStructural(v as JsonSchema)]));
      continue;
    }
    out[key] = typeof value === 'object' && value !== null ? toStructural(value as JsonSchema) : value;
  }
  // zod writes a datetime as a string with a pattern; the API server has a format for it.
  if (out.type === 'string' && out.format === 'date-time') delete out.pattern;
  return out;
}

const jsonSchema = (schema: z.ZodType) => toStructural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);

const printerColumns = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
  { name: 'Target met', type: 'string', jsonPath: ".status.conditions[?(@.type=='TargetMet')].status" },
  { name: 'Metric', type: 'string', jsonPath: '.status.metric' },
  { name: 'Replicas', type: 'integer', jsonPath: '.status.estimate.replicas' },
  { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint.url', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The TrainingRequest CustomResourceDefinition, generated from the zod schema. */
export function buildCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, annotations: { 'traineragent.io/generated-by': 'trainer-agent crd (operator/api/crd.ts)' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: CATEGORIES },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A natural-language training requirement that TrainerAgent turns into a trained, evaluated, converted and served model.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: jsonSchema(TrainingRequestSpec),
                status: jsonSchema(TrainingRequestStatus),
              },
            },
          },
        },
      ],
    },
  };
}
