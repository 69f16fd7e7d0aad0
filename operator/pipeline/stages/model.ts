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
import { attemptResources, gpuHoursUsed, gpuHoursWords, nameLength, placementInputs, placementWords, retriesGroup, secondsBeforeDeadline, waitingOutcome } from './training-resources.js';

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
  // GPU-hours and wall time the attempts so far used (the budget and the deadline count them).
  let spentGpuHours = 0;
  let earlierRunSeconds = 0;
  // Set when the GPU-hour budget stopped an attempt's Job at its deadline, or left none for the next attempt.
  let budgetOut: { n: number; stopped: boolean } | undefined;
  for (let n = 1; n <= maxAttempts + 1; n += 1) {
    const decision = nextAttempt({ task, candidates: selection.candidates, teacherPool: selection.teacherPool, attempts, maxAttempts, profile });
    if (decision.kind === 'stop') {
      stop = decision;
      break;
    }
    if (n > maxAttempts) break; // nextAttempt stops at the budget; this only guards the loop
    const entry = catalog.find((e) => e.id === decision.model.id)!;
    const teacher = decision.teacherAttempt ? attempts.find((a) => a.n === decision.teacherAttempt)?.result : undefined;
    const left = secondsBeforeDeadline(request, ctx.now, earlierRunSeconds);
    const plan = planHyperparameters(entry, decision.model, {
      profile, gpu: observed.gpuAvailable, pseudoRows: teacher ? profile.rows.unlabelled : 0,
      ...(left !== undefined ? { secondsLeft: left } : {}),
    });
    // Where it trains: the Model agent's sizing (GPUs per node, nodes), spec.resources winning; and its budget deadline.
    const resources = attemptResources({ request, observed, entry, plan, profile, pseudoRows: teacher ? profile.rows.unlabelled : 0, spentGpuHours, secondsLeft: left });
    if (resources.sizing.batchSize !== undefined) plan.model.hyperparameters['batchSize'] = resources.sizing.batchSize;
    const placement = resources.placement;
    planned.set(n, [...plan.notes, ...resources.sizing.notes]);
    const spec = TrainJobSpec.parse({
      task: task.task,
      modality: task.modality,
      dataDir: data.dir,
      model: plan.model,
      objectives: task.objectives,
      seed: n - 1,
      ...(teacher ? { teacher: { modelDir: teacher.modelDir, confidenceThreshold: decision.teacherConfidence ?? TEACHER_CONFIDENCE } } : {}),
    });
    const name = jobName(request.metadata.name, `train-${n}`, { spec, data: data.result.digest, ...placementInputs(placement) }, nameLength(placement));
    const job = observed.jobs[name];
    spentGpuHours += gpuHoursUsed(job, resources.gpus);
    earlierRunSeconds += job?.runSeconds ?? 0;
    const reason = `${decision.role === 'candidate' ? '' : `[${decision.role}] `}${decision.reason}`;
    const record: AttemptRecord = { n, model: plan.model, reason, ...(decision.teacherAttempt ? { teacherAttempt: decision.teacherAttempt } : {}) };
    if (!job && resources.exhausted) {
      budgetOut = { n, stopped: false };
      break;
    }
    const retry = job && retriesGroup(job, placement, observed) ? (job.retry ?? 0) + 1 : undefined;
    // The note is rebuilt on every reconcile: once a retry's Job is what is observed (running or done), say so too.
    if (retry === undefined && job?.retry) planned.set(n, [...(planned.get(n) ?? []), `The group of ${placementWords(placement)} failed and was started again (retry ${job.retry}), resuming from the newest checkpoint.`]);
    if (!job || job.state === 'Pending' || job.state === 'Running' || retry !== undefined) {
      const gpu = entry.framework === 'torch' && observed.gpuAvailable && resources.gpus > 0;
      if (!job || retry !== undefined) {
        ctx.actions.push({ kind: 'runJob', job: {
          name, kind: 'train', outDir: jobOutDir(observed.artifactRoot, name), spec, attempt: n, gpu, runtime: entry.framework,
          ...(placement.nodes > 1 || placement.processesPerNode > 1 ? { placement } : {}),
          ...(gpu && resources.deadlineSeconds !== undefined ? { deadlineSeconds: resources.deadlineSeconds } : {}),
          ...(retry !== undefined ? { retry } : {}),
        } });
      }
      if (retry !== undefined) planned.set(n, [...(planned.get(n) ?? []), `The group of ${placementWords(placement)} failed (${job!.message ?? 'no message'}); started again (retry ${retry}), resuming from the newest checkpoint.`]);
      attempts.push(record);
      running = { name, n };
      break;
    }
    if (job.state === 'Failed' && job.failureReason === 'DeadlineExceeded' && resources.deadlineSeconds !== undefined) {
      attempts.push({ ...record, error: `its Job was stopped when the GPU-hour budget ran out (${gpuHoursWords(spentGpuHours)} of ${request.spec.budget?.maxGpuHours} GPU-hours used)` });
      budgetOut = { n, stopped: true };
      continue;
    }
    if (job.state === 'Failed') attempts.push({ ...record, error: job.message ?? 'failed' });
    else attempts.push({ ...record, result: TrainJobResult.parse(job.result) });
  }

  status.attempts = attempts.map((a): AttemptStatus => {
    const progress = running?.n === a.n ? progressOf(observed.jobs[running.name]) : undefined;
    const training = a.result?.training;
    const baseline = training?.baseline ? ` Linear baseline on the same rows: ${Object.entries(training.baseline.metrics).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`).join(', ')}.` : '';
    const rounds = training?.boostingRounds?.length ? ` Boosting rounds kept by early stopping: ${training.boostingRounds.join(', ')}.` : '';
    const trained = (training?.device ? ` Trained on ${training.device.name}${training.processes ? ` in ${training.processes} processes (DistributedDataParallel)` : ''}${training.samplesPerSecond ? ` at ${training.samplesPerSecond} samples/s` : ''}${training.epochs ? `, kept epoch ${training.epochs}` : ''}${training.resumedFromStep ? `, resumed from step ${training.resumedFromStep}` : ''}.` : '') + rounds + baseline;
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
    const waiting = waitingOutcome(observed.jobs[running.name], `Attempt ${running.n}`);
    if (waiting) {
      ctx.condition({ type: 'Trained', status: 'False', reason: waiting.overall.reason, message: waiting.overall.message });
      return waiting;
    }
    const progress = status.attempts.at(-1)?.progress;
    const detail = progress ? ` (step ${progress.step}/${progress.total}${progress.loss !== undefined ? `, loss ${progress.loss.toFixed(3)}` : ''}${progress.samplesPerSecond ? `, ${progress.samplesPerSecond} samples/s` : ''}${progress.etaSeconds !== undefined ? `, ETA ${Math.round(progress.etaSeconds)} s` : ''})` : '';
    ctx.condition({ type: 'Trained', status: 'False', reason: 'Training', message: `Attempt ${running.n}: ${attempts.at(-1)!.model.id}${detail}` });
    return { next: false, phase: 'Training', overall: { state: 'Reconciling', reason: 'Training', message: `Training attempt ${running.n} of at most ${maxAttempts}` } };
  }

  // The Model agent's choice when it stopped (it prefers attempts within the size limits).
  const chosen = stop?.bestAttempt;
  const best = (chosen !== undefined ? attempts.find((a) => a.n === chosen && a.result) : undefined) ?? chooseBestAttempt(attempts, task);
  if (!best?.result) {
    const failures = attempts.map((a) => `#${a.n} ${a.model.id}: ${a.error}`).join('; ');
    const reason = budgetOut ? 'GpuBudgetExhausted' : 'TrainingFailed';
    const message = budgetOut
      ? `GPU-hour budget exhausted: ${gpuHoursWords(spentGpuHours)} of ${request.spec.budget?.maxGpuHours} GPU-hours used and no attempt finished (${failures}). Raise spec.budget.maxGpuHours to train again.`
      : `No attempt succeeded: ${failures || selection.reasons.join(' ')}`;
    ctx.condition({ type: 'Trained', status: 'False', reason, message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason, message } };
  }
  const result = best.result;
  if (budgetOut && !request.spec.overrides?.deployBestAttempt) {
    // The GPU-hour budget ran out: the best attempt so far is kept (status.model) and can be deployed by an override.
    const message = `GPU-hour budget exhausted: ${gpuHoursWords(spentGpuHours)} of ${request.spec.budget?.maxGpuHours} GPU-hours used; attempt ${budgetOut.n} ${budgetOut.stopped ? 'was stopped at its deadline' : 'was not started'}. The best attempt so far (#${best.n}, ${best.model.id}${headline(ctx, result) ? `, ${headline(ctx, result)}` : ''}) is kept; raise spec.budget.maxGpuHours to train on, or set spec.overrides.deployBestAttempt: true to deploy it.`;
    ctx.condition({ type: 'Trained', status: 'True', reason: 'GpuBudgetExhausted', message });
    status.model = { name: request.metadata.name, attempt: best.n, parameters: result.parameters, sizeBytes: result.modelBytes, format: 'onnx', metrics: result.metrics, uri: result.modelDir, lineage: { dataDigest: data.result.digest, seed: result.seed, packages: result.packageVersions } };
    status.metric = headline(ctx, result);
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'GpuBudgetExhausted', message } };
  }
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
