import { boxDataSummary, isBoxTask } from '../../../agents/data/boxes.js';
import { consultDataOperations } from '../../../agents/data/consult.js';
import { decideDataOperations, reviewDataProfile } from '../../../agents/data/decide.js';
import { DataJobResult, DataJobSpec } from '../../../agents/jobs/data-spec.js';
import type { Framework } from '../../../agents/model/catalog.js';
import { isTrainable } from '../../../agents/model/select.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { jobOutDir } from './paths.js';
import { waitingOutcome } from './training-resources.js';

/**
 * Text data is prepared in the PyTorch environment when there is one: label-error detection on small
 * text sets uses frozen MiniLM sentence embeddings there (TF-IDF has too few rows to learn from).
 */
export function dataRuntime(modality: string, frameworks: Framework[]): Framework {
  return modality === 'text' && frameworks.includes('torch') ? 'torch' : 'sklearn';
}

/**
 * Whether the request's data sources can be read yet: still fetching (PreparingData), or unreadable or
 * not resolved (Stalled, DataUnavailable); undefined when all `expected` sources are there.
 */
export function sourcesNotReady(ctx: StageContext, expected: number): StageOutcome | undefined {
  const { observed } = ctx;
  const pending = observed.sources.filter((s) => s.pending && !s.error);
  if (pending.length > 0) {
    const message = `Fetching data: ${pending.map((s) => `${s.name} (${s.pending})`).join('; ')}`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'FetchingData', message });
    return { next: false, phase: 'PreparingData', overall: { state: 'Reconciling', reason: 'FetchingData', message } };
  }
  const unreadable = observed.sources.filter((s) => s.error);
  if (unreadable.length > 0 || observed.sources.length < expected) {
    const message = unreadable.map((s) => `${s.name}: ${s.error}`).join('; ') || 'data sources are not resolved yet';
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'DataUnavailable', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'DataUnavailable', message } };
  }
  return undefined;
}

/**
 * Data stage (Data agent): make sure labelled data exists and is readable, decide the operations,
 * run the data job, read its profile, decide (through the brain) whether the training split needs a
 * second pass (augment, reduce) and run it, and ask for more data when there is too little.
 */
export async function dataStage(ctx: StageContext): Promise<StageOutcome> {
  const { request, observed, task, status } = ctx;
  const sources = request.spec.data ?? [];
  if (!task.task || !task.modality || !isTrainable(task.task, task.modality)) {
    const message = `No catalog model can train a ${task.task ?? 'unknown'} task on ${task.modality ?? 'unknown'} data yet; the catalog covers text and image classification (and tables).`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'TaskNotSupported', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'TaskNotSupported', message } };
  }
  if (!sources.some((s) => s.role !== 'unlabelled')) {
    const question = `I need labelled examples to train a ${task.task} model: add a source to spec.data (${isBoxTask(task.task) ? 'COCO-style JSON (format: coco) with images and boxes' + (task.task === 'visual-grounding' ? ', or JSON lines of {image, query, box} (format: jsonl)' : '') : 'csv, jsonl or an image folder with one subfolder per label'}) with at least a few hundred labelled rows.`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'NoLabelledData', message: question });
    return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'NoLabelledData', message: question } };
  }
  const notReady = sourcesNotReady(ctx, sources.length);
  if (notReady) return notReady;

  const spec = DataJobSpec.parse({
    task: task.task,
    modality: task.modality,
    sources: sources.map((s) => {
      const seen = observed.sources.find((o) => o.name === s.name)!;
      return { name: s.name, uri: seen.location ?? s.uri, format: s.format, role: s.role, textColumn: s.textColumn, labelColumn: s.labelColumn };
    }),
    operations: decideDataOperations(task, sources.map((s) => s.role)),
    seed: 0,
  });
  const digests = observed.sources.map((s) => [s.name, s.digest]);
  const first = dataJob(ctx, spec, digests);
  if ('outcome' in first) return first.outcome;
  // --- Second pass (Data agent's decision on the profile, through the brain, bounds-checked) ---
  const second = await consultDataOperations(ctx.brain, task, first.result.profile, ctx.memory(), ctx.decisions());
  if (!second.reused) ctx.decided(second.record, second.operations.length ? `Second pass on the training split: ${second.operations.map((o) => JSON.stringify(o)).join(', ')}. ${second.reason}` : second.reason);
  const prepared = second.operations.length ? dataJob(ctx, DataJobSpec.parse({ ...spec, operations: [...spec.operations, ...second.operations] }), digests) : first;
  if ('outcome' in prepared) return prepared.outcome;
  // --- end of the second pass ---
  const { outDir } = prepared;
  const result = prepared.result;
  const p = result.profile;
  status.data = {
    digest: result.digest,
    summary: boxDataSummary(p) ?? `${p.rows.loaded} rows loaded; ${p.rows.train} train / ${p.rows.test} test / ${p.rows.unlabelled} unlabelled; ${p.table?.target === 'regression' ? `a numeric target` : `${p.classes.length} classes (minority ratio ${p.minorityRatio.toFixed(2)})`}; ${tableSummary(p)}${p.duplicates.removed} duplicates removed; ${p.labelIssues?.found ?? 0} label issues found, ${p.labelIssues?.corrected ?? 0} corrected, ${p.labelIssues?.flagged ?? 0} flagged for review. Evaluation: ${p.evaluation.method === 'cross-validation' ? `${p.evaluation.folds ?? 5}-fold cross-validation over ${p.evaluation.rows} labelled rows` : `locked test split of ${p.evaluation.rows} rows`}.`,
    counts: { loaded: p.rows.loaded, train: p.rows.train, test: p.rows.test, unlabelled: p.rows.unlabelled, duplicatesRemoved: p.duplicates.removed },
    labelIssues: p.labelIssues?.found ?? 0,
    reportUri: `${outDir}/data-report.json`,
  };
  const review = reviewDataProfile(task, p);
  if (review.moreDataNeeded) {
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'NotEnoughData', message: review.question });
    return { next: false, phase: 'AwaitingInput', question: review.question, overall: { state: 'AwaitingInput', reason: 'NotEnoughData', message: review.question } };
  }
  ctx.condition({ type: 'DataPrepared', status: 'True', reason: 'DataPrepared', message: status.data.summary ?? '' });
  ctx.data = { dir: outDir, result };
  return { next: true };
}

/** A table's columns in a sentence: what the model learns from, what is missing, what was left out and why. */
export function tableSummary(p: DataJobResult['profile']): string {
  const t = p.table;
  if (!t) return '';
  const target = t.targetDistribution ? ` "${t.label}" from ${t.targetDistribution.min} to ${t.targetDistribution.max} (median ${t.targetDistribution.p50})` : ` "${t.label}"`;
  const left = t.excluded.length ? `left out ${t.excluded.map((e) => `${e.column} (${e.excluded})`).join(', ')}` : 'no column left out';
  return `label column${target}; ${t.features.numeric} numeric and ${t.features.categorical} categorical features, ${t.rowsWithMissingValues} rows with missing values; ${left}; `;
}

/** Run (or observe) one data job: its result when it succeeded, else the stage's outcome for now. */
function dataJob(ctx: StageContext, spec: DataJobSpec, digests: unknown[]): { name: string; outDir: string; result: DataJobResult } | { outcome: StageOutcome } {
  const { request, observed } = ctx;
  const name = jobName(request.metadata.name, 'data', { spec, digests });
  const outDir = jobOutDir(observed.artifactRoot, name);
  const job = observed.jobs[name];
  if (!job || job.state === 'Pending' || job.state === 'Running') {
    if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'data', outDir, spec, runtime: dataRuntime(spec.modality, observed.frameworks) } });
    const waiting = waitingOutcome(job, `Data job ${name}`);
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: waiting?.overall.reason ?? 'Preparing', message: waiting?.overall.message ?? `Data job ${name} is ${job?.state ?? 'starting'}` });
    if (waiting) return { outcome: waiting };
    return { outcome: { next: false, phase: 'PreparingData', overall: { state: 'Reconciling', reason: 'PreparingData', message: `Running data job ${name}` } } };
  }
  if (job.state === 'Failed') {
    const message = `Data job ${name} failed: ${job.message ?? 'no message'}`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'DataJobFailed', message });
    return { outcome: { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'DataJobFailed', message } } };
  }
  return { name, outDir, result: DataJobResult.parse(job.result) };
}
