import { dirname } from 'node:path';
import { TrainJobResult, TrainJobSpec } from '../../../agents/jobs/train-spec.js';
import { loadCatalog } from '../../../agents/model/catalog.js';
import { consultModelChoice } from '../../../agents/model/consult.js';
import { planHyperparameters } from '../../../agents/model/hyperparameters.js';
import { chooseBestAttempt, headlineMetric, nextAttempt, TEACHER_CONFIDENCE, type AttemptDecision, type AttemptRecord } from '../../../agents/model/next-attempt.js';
import { selectCandidates } from '../../../agents/model/select.js';
import type { AttemptStatus } from '../../api/training-request.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import type { JobObservation } from '../types.js';
import { jobOutDir } from './paths.js';

/**
 * The rule `TargetMet` uses: the point estimate meets every objective AND the evaluation scored at
 * least this many labelled rows (each once: the locked test split, or every row in cross-validation).
 * Fewer rows cannot tell 90% from 80%, so the agents ask for more labelled data instead. The 95%
 * interval is reported beside the estimate, and the condition says when its lower bound is below
 * the target (the margin is then uncertain).
 */
export const MIN_EVALUATION_ROWS = 50;

/** The objective the headline metric reports: the first one, or accuracy (RMSE for a regression model). */
function headline(ctx: StageContext, result: TrainJobResult): string {
  const objective = ctx.task.objectives[0];
  const metric = headlineMetric(ctx.task.objectives, result.metrics);
  const value = result.metrics[metric];
  const interval = result.intervals[metric];
  const target = objective ? ` (target ${objective.op} ${objective.value})` : '';
  const range = interval ? ` [95% ${interval.low.toFixed(3)}–${interval.high.toFixed(3)}, ${result.evaluation.method} on ${result.evaluation.rows} rows]` : '';
  return value === undefined ? '' : `${metric} ${value.toFixed(4)}${target}${range}`;
}

/** Seconds until the budget's deadline, when there is one. */
function secondsLeft(ctx: StageContext): number | undefined {
  const deadline = ctx.request.spec.budget?.deadline;
  return deadline ? Math.max(0, (Date.parse(deadline) - ctx.now.getTime()) / 1000) : undefined;
}

/** A running job's latest training progress, as the attempt shows it. */
function progressOf(job: JobObservation | undefined): AttemptStatus['progress'] | undefined {
  const p = job?.progress;
  if (!p || p.stage !== 'train' || p.step === undefined || !p.total) return undefined;
  const num = (k: string) => (typeof p.metric?.[k] === 'number' ? (p.metric[k] as number) : undefined);
  const loss = num('loss');
  const rate = num('samplesPerSecond');
  const eta = num('etaSeconds');
  return { step: p.step, total: p.total, ...(loss !== undefined ? { loss } : {}), ...(rate !== undefined ? { samplesPerSecond: rate } : {}), ...(eta !== undefined ? { etaSeconds: eta } : {}) };
}

/**
 * Model stage (Model agent): choose candidates under the constraints, then train attempt after
 * attempt, each decided from the ones before and planned for the data, the device and the deadline,
 * until the target is met or the budget ends. Level-triggered: the chain of attempts is re-derived
 * from finished jobs on every reconcile.
 */
export async function modelStage(ctx: StageContext): Promise<StageOutcome> {
  const { request, observed, task, status } = ctx;
  const data = ctx.data!;
  const profile = data.result.profile;
  const maxAttempts = request.spec.budget?.maxAttempts ?? 4;
  const catalog = loadCatalog().entries;
  // The Model agent's brain may reorder the allowed candidates and adjust hyperparameters within bounds (agents/model/consult.ts).
  const consulted = await consultModelChoice(ctx.brain, task, profile, selectCandidates({ task, profile, frameworks: observed.frameworks }), ctx.memory(), ctx.decisions());
  if (!consulted.reused) ctx.decided(consulted.record, `Candidates in order: ${consulted.choice.order.join(', ') || 'none'}. ${consulted.choice.reason}`);
  const selection = consulted.selection;
  const attempts: AttemptRecord[] = [];
  const planned = new Map<number, string[]>();
  let running: { name: string; n: number } | undefined;
  let stop: Extract<AttemptDecision, { kind: 'stop' }> | undefined;
  for (let n = 1; n <= maxAttempts + 1; n += 1) {
    const decision = nextAttempt({ task, candidates: selection.candidates, teacherPool: selection.teacherPool, attempts, maxAttempts, profile });
    if (decision.kind === 'stop') {
      stop = decision;
      break;
    }
    if (n > maxAttempts) break; // nextAttempt stops at the budget; this only guards the loop
    const entry = catalog.find((e) => e.id === decision.model.id)!;
    const teacher = decision.teacherAttempt ? attempts.find((a) => a.n === decision.teacherAttempt)?.result : undefined;
    const plan = planHyperparameters(entry, decision.model, {
      profile, gpu: observed.gpuAvailable, pseudoRows: teacher ? profile.rows.unlabelled : 0,
      ...(secondsLeft(ctx) !== undefined ? { secondsLeft: secondsLeft(ctx) } : {}),
    });
    planned.set(n, plan.notes);
    const spec = TrainJobSpec.parse({
      task: task.task,
      modality: task.modality,
      dataDir: data.dir,
      model: plan.model,
      objectives: task.objectives,
      seed: n - 1,
      ...(teacher ? { teacher: { modelDir: teacher.modelDir, confidenceThreshold: decision.teacherConfidence ?? TEACHER_CONFIDENCE } } : {}),
    });
    const name = jobName(request.metadata.name, `train-${n}`, { spec, data: data.result.digest });
    const job = observed.jobs[name];
    const reason = `${decision.role === 'candidate' ? '' : `[${decision.role}] `}${decision.reason}`;
    const record: AttemptRecord = { n, model: plan.model, reason, ...(decision.teacherAttempt ? { teacherAttempt: decision.teacherAttempt } : {}) };
    if (!job || job.state === 'Pending' || job.state === 'Running') {
      const gpu = entry.framework === 'torch' && observed.gpuAvailable;
      if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'train', outDir: jobOutDir(observed.artifactRoot, name), spec, attempt: n, gpu, runtime: entry.framework } });
      attempts.push(record);
      running = { name, n };
      break;
    }
    if (job.state === 'Failed') attempts.push({ ...record, error: job.message ?? 'failed' });
    else attempts.push({ ...record, result: TrainJobResult.parse(job.result) });
  }

  status.attempts = attempts.map((a): AttemptStatus => {
    const progress = running?.n === a.n ? progressOf(observed.jobs[running.name]) : undefined;
    const training = a.result?.training;
    const baseline = training?.baseline ? ` Linear baseline on the same rows: ${Object.entries(training.baseline.metrics).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`).join(', ')}.` : '';
    const rounds = training?.boostingRounds?.length ? ` Boosting rounds kept by early stopping: ${training.boostingRounds.join(', ')}.` : '';
    const trained = (training?.device ? ` Trained on ${training.device.name}${training.samplesPerSecond ? ` at ${training.samplesPerSecond} samples/s` : ''}${training.epochs ? `, kept epoch ${training.epochs}` : ''}${training.resumedFromStep ? `, resumed from step ${training.resumedFromStep}` : ''}.` : '') + rounds + baseline;
    return {
      n: a.n,
      model: a.model.id,
      state: a.result ? 'Succeeded' : a.error ? 'Failed' : 'Running',
      ...(a.result ? { parameters: a.result.parameters, metrics: a.result.metrics, durationSeconds: a.result.durationSeconds, seed: a.result.seed, artifacts: dirname(a.result.modelDir), evaluation: a.result.evaluation } : { metrics: {} }),
      ...(a.result && Object.keys(a.result.intervals).length ? { interval: Object.fromEntries(Object.entries(a.result.intervals).map(([k, v]) => [k, [v.low, v.high]])) } : {}),
      ...(progress ? { progress } : {}),
      note: `${a.error ? `Failed: ${a.error}. ` : ''}${a.reason} ${(planned.get(a.n) ?? []).join(' ')}${trained}`.trim().slice(0, 2000),
    };
  });
  if (running) {
    const progress = status.attempts.at(-1)?.progress;
    const detail = progress ? ` (step ${progress.step}/${progress.total}${progress.loss !== undefined ? `, loss ${progress.loss.toFixed(3)}` : ''}${progress.samplesPerSecond ? `, ${progress.samplesPerSecond} samples/s` : ''}${progress.etaSeconds !== undefined ? `, ETA ${Math.round(progress.etaSeconds)} s` : ''})` : '';
    ctx.condition({ type: 'Trained', status: 'False', reason: 'Training', message: `Attempt ${running.n}: ${attempts.at(-1)!.model.id}${detail}` });
    return { next: false, phase: 'Training', overall: { state: 'Reconciling', reason: 'Training', message: `Training attempt ${running.n} of at most ${maxAttempts}` } };
  }

  // The Model agent's choice when it stopped (it prefers attempts within the size limits).
  const chosen = stop?.bestAttempt;
  const best = (chosen !== undefined ? attempts.find((a) => a.n === chosen && a.result) : undefined) ?? chooseBestAttempt(attempts, task);
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
    const missed = result.objectives.filter((o) => !o.met).map((o) => `${o.metric} ${o.measured?.toFixed(4) ?? 'n/a'} (target ${o.op} ${o.value})`).join(', ');
    ctx.condition({ type: 'TargetMet', status: 'False', reason: 'EvaluationBelowTarget', message: missed });
    if (!request.spec.overrides?.deployBestAttempt) {
      const question = `After ${attempts.length} attempt(s) the best model (#${best.n}, ${best.model.id}) reached ${missed}. Add labelled or unlabelled data, raise spec.budget.maxAttempts, relax the target in spec.overrides, or set spec.overrides.deployBestAttempt: true to deploy it as it is.`;
      return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'TargetNotMet', message: question } };
    }
  } else if (result.evaluation.rows < MIN_EVALUATION_ROWS) {
    const question = `The best model (#${best.n}, ${best.model.id}) scored ${headline(ctx, result)}, but on only ${result.evaluation.rows} labelled rows: at least ${MIN_EVALUATION_ROWS} are needed to judge the target. Add labelled rows (or a test source) and I will evaluate again.`;
    ctx.condition({ type: 'TargetMet', status: 'False', reason: 'TooFewEvaluationRows', message: question });
    if (!request.spec.overrides?.deployBestAttempt) {
      return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'TooFewEvaluationRows', message: question } };
    }
  } else {
    const uncertain = result.objectives.filter((o) => {
      const interval = result.intervals[o.metric];
      return interval !== undefined && (o.op === '>=' ? interval.low < o.value : interval.high > o.value);
    });
    const caveat = uncertain.length ? ` The 95% interval of ${uncertain.map((o) => o.metric).join(', ')} reaches past the target: the margin is uncertain.` : '';
    ctx.condition({ type: 'TargetMet', status: 'True', reason: 'TargetMet', message: `${headline(ctx, result)}.${caveat}` });
  }
  ctx.trained = { attempt: best.n, modelDir: result.modelDir, result, framework: result.training?.framework ?? 'sklearn' };
  return { next: true };
}
