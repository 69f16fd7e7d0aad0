import { readFileSync } from 'node:fs';
import { load as parse } from 'js-yaml';
import { z } from 'zod';
import { HyperparameterValue } from '../jobs/train-spec.js';
import { Modality, Task } from '../task/task-spec.js';

/** Frameworks a training job can use; torch families need the PyTorch environment (the trainer image has it). */
export const Framework = z.enum(['sklearn', 'torch']);
export type Framework = z.infer<typeof Framework>;

/** One model the Model agent may train: what it is for, how big it is, and how to build it. */
export const CatalogEntry = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,127}$/),
  tasks: z.array(Task).min(1),
  modalities: z.array(Modality).min(1),
  family: z.string().min(1).max(128).describe('training code: a key of FAMILIES in train/families.py'),
  framework: Framework,
  tier: z.number().int().min(1).max(3).describe('1 classic, 2 frozen pretrained encoder + head, 3 fine-tuned network: the Model agent climbs tiers when one falls short'),
  rank: z.number().int().min(1).describe('lower is tried first within a tier'),
  approxParameters: z.number().int().min(0),
  approxBytes: z.number().int().min(0),
  expectedLatencyMs: z.number().min(0).describe('one row on one CPU core through ONNX Runtime, preprocessing included'),
  trainSecondsPerSample: z.number().positive().optional().describe('measured seconds per training sample and epoch on a 2-core CPU (torch entries)'),
  minRowsPerClass: z.number().int().min(1).default(2),
  iterationHyperparameter: z.string().min(1).optional().describe('the hyperparameter to raise when training longer'),
  source: z.string().regex(/^(config|pretrained:.+)$/).describe('config (from scratch) or pretrained:<name>'),
  hyperparameters: z.record(z.string(), HyperparameterValue).default({}),
  notes: z.string().max(1000).optional(),
}).strict();
export type CatalogEntry = z.infer<typeof CatalogEntry>;

/** The whole catalog file. */
export const Catalog = z.object({ entries: z.array(CatalogEntry).min(1) }).strict();
export type Catalog = z.infer<typeof Catalog>;

/** Parse catalog YAML; throws on schema errors and on duplicate ids. */
export function parseCatalog(yamlText: string): Catalog {
  const catalog = Catalog.parse(parse(yamlText));
  const seen = new Set<string>();
  for (const entry of catalog.entries) {
    if (seen.has(entry.id)) throw new Error(`duplicate catalog id ${entry.id}`);
    seen.add(entry.id);
  }
  return catalog;
}

let shipped: Catalog | undefined;

/** The catalog that ships next to this file (agents/model/catalog.yaml), parsed once. */
export function loadCatalog(): Catalog {
  shipped ??= parseCatalog(readFileSync(new URL('./catalog.yaml', import.meta.url), 'utf8'));
  return shipped;
}
