import { dirname } from 'node:path';
import { TrainJobResult, TrainJobSpec } from '../../../agents/jobs/train-spec.js';
import { nextAttempt, TEACHER_CONFIDENCE, type AttemptDecision, type AttemptRecord } from '../../../agents/model/next-attempt.js';
import { consultModelChoice } from '../../../agents/model/consult.js';
import { selectCandidates } from '../../../agents/model/select.js';
import type { AttemptStatus } from '../../api/training-request.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { jobOutDir } from './paths.js';

/** The objective the headline metric reports: the first one, or accuracy. */
function headline(ctx: StageContext, result: TrainJobResult): string {
  const objective = ctx.task.objectives[0];
  const metric = objective?.metric ?? 'accuracy';
  const value = result.metrics[metric];
  const target = objective ? ` (target ${objective.op} ${objective.value})` : '';
  return value === undefined ? '' : `${metric} ${value.toFixed(4)}${target}`;
}

/** Best attempt: one that meets every objective first, then the highest first-objective score. */
export function bestAttempt(ctx: StageContext, attempts: AttemptRecord[]): AttemptRecord | undefined {
  const done = attempts.filter((a) => a.result);
  const objective = ctx.task.objectives[0];
  const metric = objective?.metric ?? 'accuracy';
  const sign = objective?.op === '<=' ? -1 : 1;
  const score = (a: AttemptRecord) => (a.result!.objectivesMet ? 1e9 : 0) + sign * (a.result!.metrics[metric] ?? -Infinity);
  return [...done].sort((a, b) => score(b) - score(a) || a.n - b.n)[0];
}

/**
 * Model stage (Model agent): choose candidates under the constraints, then train attempt after
 * attempt, each decided from the ones before, until the target is met or the budget ends.
 * Level-triggered: the chain of attempts is re-derived from finished jobs on every reconcile.
 */
export async function modelStage(ctx: StageContext): Promise<StageOutcome> {
  const { request, observed, task, status } = ctx;
  const data = ctx.data!;
  const maxAttempts = request.spec.budget?.maxAttempts ?? 4;
  // The Model agent's brain may reorder the allowed candidates and adjust hyperparameters within bounds (agents/model/consult.ts).
  const consulted = await consultModelChoice(ctx.brain, task, data.result.profile, selectCandidates({ task, profile: data.result.profile, gpuAvailable: observed.gpuAvailable }), ctx.memory(), ctx.decisions());
  if (!consulted.reused) ctx.decided(consulted.record, `Candidates in order: ${consulted.choice.order.join(', ') || 'none'}. ${consulted.choice.reason}`);
  const selection = consulted.selection;
  const attempts: AttemptRecord[] = [];
  let running: { name: string; n: number } | undefined;
  let stop: Extract<AttemptDecision, { kind: 'stop' }> | undefined;
  for (let n = 1; n <= maxAttempts + 1; n += 1) {
    const decision = nextAttempt({ task, candidates: selection.candidates, teacherPool: selection.teacherPool, attempts, maxAttempts, profile: data.result.profile });
    if (decision.kind === 'stop') {
      stop = decision;
      break;
    }
    if (n > maxAttempts) break; // nextAttempt stops at the budget; this only guards the loop
    const teacher = decision.teacherAttempt ? attempts.find((a) => a.n === decision.teacherAttempt)?.result : undefined;
    const spec = TrainJobSpec.parse({
      task: task.task,
      modality: task.modality,
      dataDir: data.dir,
      model: decision.model,
      objectives: task.objectives,
      seed: n - 1,
      ...(teacher ? { teacher: { modelDir: teacher.modelDir, confidenceThreshold: decision.teacherConfidence ?? TEACHER_CONFIDENCE } } : {}),
    });
    const name = jobName(request.metadata.name, `train-${n}`, { spec, data: data.result.digest });
    const job = observed.jobs[name];
    const reason = `${decision.role === 'candidate' ? '' : `[${decision.role}] `}${decision.reason}`;
    const record: AttemptRecord = { n, model: decision.model, reason, ...(decision.teacherAttempt ? { teacherAttempt: decision.teacherAttempt } : {}) };
    if (!job || job.state === 'Pending' || job.state === 'Running') {
      if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'train', outDir: jobOutDir(observed.artifactRoot, name), spec, attempt: n, gpu: observed.gpuAvailable } });
      attempts.push(record);
      running = { name, n };
      break;
    }
    if (job.state === 'Failed') attempts.push({ ...record, error: job.message ?? 'failed' });
    else attempts.push({ ...record, result: TrainJobResult.parse(job.result) });
  }

  status.attempts = attempts.map((a): AttemptStatus => ({
    n: a.n,
    model: a.model.id,
    state: a.result ? 'Succeeded' : a.error ? 'Failed' : 'Running',
    ...(a.result ? { parameters: a.result.parameters, metrics: a.result.metrics, durationSeconds: a.result.durationSeconds, seed: a.result.seed, artifacts: dirname(a.result.modelDir) } : { metrics: {} }),
    ...(a.result && Object.keys(a.result.intervals).length ? { interval: Object.fromEntries(Object.entries(a.result.intervals).map(([k, v]) => [k, [v.low, v.high]])) } : {}),
    note: (a.error ? `Failed: ${a.error}. ` : '') + a.reason,
  }));
  if (running) {
    const progress = observed.jobs[running.name]?.progress;
    const detail = progress?.metric ? ` (${Object.entries(progress.metric).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(', ')})` : '';
    ctx.condition({ type: 'Trained', status: 'False', reason: 'Training', message: `Attempt ${running.n}: ${attempts.at(-1)!.model.id}${detail}` });
    return { next: false, phase: 'Training', overall: { state: 'Reconciling', reason: 'Training', message: `Training attempt ${running.n} of at most ${maxAttempts}` } };
  }

  // The Model agent's choice when it stopped (it prefers attempts within the size limits; a teacher is never deployed).
  const chosen = stop?.bestAttempt;
  const best = (chosen !== undefined ? attempts.find((a) => a.n === chosen && a.result) : undefined) ?? bestAttempt(ctx, attempts);
  if (!best?.result) {
    const message = `No attempt succeeded: ${attempts.map((a) => `#${a.n} ${a.model.id}: ${a.error}`).join('; ') || selection.reasons.join(' ')}`;
    ctx.condition({ type: 'Trained', status: 'False', reason: 'TrainingFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'TrainingFailed', message } };
  }
  const result = best.result;
  ctx.condition({ type: 'Trained', status: 'True', reason: 'Trained', message: `${attempts.filter((a) => a.result).length} attempt(s); best #${best.n} ${best.model.id}${stop ? `. ${stop.reason}` : ''}` });
  status.metric = headline(ctx, result);
  status.model = {
    name: request.metadata.name,
    attempt: best.n,
    parameters: result.parameters,
    sizeBytes: result.modelBytes,
    format: 'onnx',
    metrics: result.metrics,
    uri: result.modelDir,
    lineage: { dataDigest: data.result.digest, seed: result.seed, packages: result.packageVersions },
  };
  if (!result.objectivesMet) {
    const missed = result.objectives.filter((o: { met: boolean }) => !o.met).map((o: { metric: string; measured: number | null; op: string; value: number }) => `${o.metric} ${o.measured?.toFixed(4) ?? 'n/a'} (target ${o.op} ${o.value})`).join(', ');
    ctx.condition({ type: 'TargetMet', status: 'False', reason: 'EvaluationBelowTarget', message: missed });
    if (!request.spec.overrides?.deployBestAttempt) {
      const question = `After ${attempts.length} attempt(s) the best model (#${best.n}, ${best.model.id}) reached ${missed}. Add labelled or unlabelled data, raise spec.budget.maxAttempts, relax the target in spec.overrides, or set spec.overrides.deployBestAttempt: true to deploy it as it is.`;
      return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'TargetNotMet', message: question } };
    }
  } else {
    ctx.condition({ type: 'TargetMet', status: 'True', reason: 'TargetMet', message: headline(ctx, result) });
  }
  ctx.trained = { attempt: best.n, modelDir: result.modelDir, result };
  return { next: true };
}
