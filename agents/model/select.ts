import type { DataProfile } from '../jobs/data-spec.js';
import type { Constraints, Modality, Task } from '../task/task-spec.js';
import { loadCatalog, type CatalogEntry, type Framework } from './catalog.js';

/** What the Model agent reads to choose candidates. */
export interface SelectionInput {
  task: { task?: Task | undefined; modality?: Modality | undefined; constraints?: Constraints | undefined };
  profile: Pick<DataProfile, 'rows' | 'classes'>;
  /** Frameworks installed for training jobs (default: sklearn only; the trainer image and a local run with the PyTorch environment add torch). */
  frameworks?: Framework[];
  /** Catalog entries to choose from (default: the shipped catalog). */
  catalog?: CatalogEntry[];
}

/** Candidates in the order to try them, the teacher pool, and why each other model was left out. */
export interface Selection {
  /** Models that fit the task, the data and every limit, cheapest tier first, then by rank. */
  candidates: CatalogEntry[];
  /** Models that fit the task and the data, ignoring size limits: teachers for the hierarchical mode. */
  teacherPool: CatalogEntry[];
  rejected: { id: string; reasons: string[] }[];
  /** Plain-language summary of the choice. */
  reasons: string[];
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1)} MB`;

/** Whether some catalog model can train this task on this modality. */
export function isTrainable(task: Task, modality: Modality, catalog: CatalogEntry[] = loadCatalog().entries): boolean {
  return catalog.some((e) => e.tasks.includes(task) && e.modalities.includes(modality));
}

/** Why an entry cannot train here at all (framework, data), whatever the size limits. */
function environmentReasons(entry: CatalogEntry, frameworks: Framework[], smallestClass: number): string[] {
  const reasons: string[] = [];
  if (!frameworks.includes(entry.framework)) reasons.push(`needs ${entry.framework}, but ${entry.framework} is not available to training jobs here`);
  if (smallestClass < entry.minRowsPerClass) reasons.push(`the smallest class has ${count(smallestClass)} training rows; this model needs at least ${entry.minRowsPerClass} rows per class`);
  return reasons;
}

/** Why an entry breaks the requested limits on the model itself. */
function limitReasons(entry: CatalogEntry, constraints: Constraints): string[] {
  const reasons: string[] = [];
  if (constraints.maxParameters !== undefined && entry.approxParameters > constraints.maxParameters) {
    reasons.push(`~${count(entry.approxParameters)} parameters exceeds the limit of ${count(constraints.maxParameters)}`);
  }
  if (constraints.maxModelBytes !== undefined && entry.approxBytes > constraints.maxModelBytes) {
    reasons.push(`~${megabytes(entry.approxBytes)} exceeds the limit of ${megabytes(constraints.maxModelBytes)}`);
  }
  if (constraints.maxLatencyMs !== undefined && entry.expectedLatencyMs > constraints.maxLatencyMs) {
    reasons.push(`expected latency ${entry.expectedLatencyMs} ms exceeds the limit of ${constraints.maxLatencyMs} ms`);
  }
  return reasons;
}

/**
 * Choose catalog models for a task under its constraints and the data at hand.
 * Candidates fit everything and come best-ranked first; the teacher pool ignores the size limits
 * (a teacher only labels data, it is never deployed).
 */
export function selectCandidates(input: SelectionInput): Selection {
  const { task, modality } = input.task;
  const constraints = input.task.constraints ?? {};
  const frameworks = input.frameworks ?? ['sklearn'];
  const catalog = input.catalog ?? loadCatalog().entries;
  const smallestClass = input.profile.classes.length > 0 ? Math.min(...input.profile.classes.map((c) => c.train)) : input.profile.rows.train;
  const relevant = catalog
    .filter((e) => task !== undefined && modality !== undefined && e.tasks.includes(task) && e.modalities.includes(modality))
    .sort((a, b) => a.tier - b.tier || a.rank - b.rank || a.id.localeCompare(b.id));

  const candidates: CatalogEntry[] = [];
  const teacherPool: CatalogEntry[] = [];
  const rejected: Selection['rejected'] = [];
  for (const entry of relevant) {
    const environment = environmentReasons(entry, frameworks, smallestClass);
    const limits = limitReasons(entry, constraints);
    if (environment.length === 0) teacherPool.push(entry);
    if (environment.length === 0 && limits.length === 0) candidates.push(entry);
    else rejected.push({ id: entry.id, reasons: [...environment, ...limits] });
  }

  const reasons: string[] = [];
  if (relevant.length === 0) {
    reasons.push(`The catalog has no model for ${task ?? 'an unknown task'} on ${modality ?? 'unknown'} data.`);
  } else if (candidates.length === 0) {
    reasons.push(`None of the ${relevant.length} catalog models for ${task} fits: ${rejected.map((r) => `${r.id} (${r.reasons.join('; ')})`).join(', ')}.`);
  } else {
    reasons.push(`${candidates.length} of ${relevant.length} catalog models for ${task} fit the data and the limits; trying them in order: ${candidates.map((c) => c.id).join(', ')}.`);
    for (const r of rejected) reasons.push(`Left out ${r.id}: ${r.reasons.join('; ')}.`);
  }
  const teachersOnly = teacherPool.filter((t) => !candidates.includes(t));
  if (teachersOnly.length > 0) reasons.push(`Too big to deploy but usable as teachers for unlabelled data: ${teachersOnly.map((t) => t.id).join(', ')}.`);
  return { candidates, teacherPool, rejected, reasons };
}
