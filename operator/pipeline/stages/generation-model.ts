import { dirname } from 'node:path';
import { GenerationTrainJobResult, GenerationTrainJobSpec } from '../../../agents/jobs/generation-spec.js';
import { nextGenerationAttempt, selectGenerationModel, type GenerationAttempt } from '../../../agents/model/generation.js';
import type { AttemptStatus } from '../../api/training-request.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import type { JobObservation } from '../types.js';
import { jobOutDir } from './paths.js';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
const count = (n: number) => n.toLocaleString('en-US');

/** Every metric an attempt shows: the real ones, and the proxies under their labelled names (base model too). */
export function generationMetrics(result: GenerationTrainJobResult): Record<string, number> {
  const out: Record<string, number> = { ...result.metrics };
  for (const p of result.proxies) {
    out[p.name] = p.value;
    if (p.baseValue !== null) out[`${p.name}-base`] = p.baseValue;
  }
  return out;
}

/** The headline for status.metric: a real metric when measured, the proxy labelled as one otherwise. */
export function generationHeadline(result: GenerationTrainJobResult, objectives: StageContext['task']['objectives']): string {
  const objective = objectives[0];
  const real = objective && result.metrics[objective.metric] !== undefined ? objective.metric : Object.keys(result.metrics)[0];
  if (real !== undefined) {
    const target = objective?.metric === real ? ` (target ${objective.op} ${objective.value})` : '';
    return `${real} ${result.metrics[real]!.toFixed(2)}${target} on ${result.evaluation.heldOutImages} held-out style images`.slice(0, 256);
  }
  const proxy = result.proxies[0];
  if (proxy) {
    return `${proxy.name} ${proxy.value.toFixed(1)}${proxy.baseValue !== null ? ` (base ${proxy.baseValue.toFixed(1)})` : ''}: a proxy, not FID; FID and CLIP score not measured (no extractor weights)`.slice(0, 256);
  }
  return 'No quality measure: too few held-out images and no extractor weights';
}

function progressOf(job: JobObservation | undefined): AttemptStatus['progress'] | undefined {
  const p = job?.progress;
  if (!p || p.stage !== 'train' || p.step === undefined || !p.total) return undefined;
  const num = (k: string) => (typeof p.metric?.[k] === 'number' ? (p.metric[k] as number) : undefined);
  const [loss, rate, eta] = [num('loss'), num('samplesPerSecond'), num('etaSeconds')];
  return { step: p.step, total: p.total, ...(loss !== undefined ? { loss } : {}), ...(rate !== undefined ? { samplesPerSecond: rate } : {}), ...(eta !== undefined ? { etaSeconds: eta } : {}) };
}

function trainedNote(result: GenerationTrainJobResult): string {
  const t = result.training;
  return `Trained ${count(t.steps)} steps on ${t.device.name}${t.device.mixedPrecision ? ` (${t.device.mixedPrecision})` : ''} at ${t.stepsPerSecond} steps/s` +
    `${t.resumedFromStep ? `, resumed from step ${t.resumedFromStep}` : ''}; peak memory ${mb(t.peakMemoryBytes)}; loss ${t.loss.first.toFixed(3)} → ${t.loss.last.toFixed(3)}; ` +
    `LoRA ${count(result.parameters)} parameters (${mb(result.modelBytes)}) on a ${count(result.baseParameters)}-parameter base. ` +
    result.unavailable.map((u) => `${u.reason}.`).join(' ');
}

/**
 * Model stage of an image generation request (Model agent): choose the base and plan the LoRA for the
 * style set and the machine, fine-tune attempt after attempt (longer when a measured target is missed),
 * and judge the result on the held-out style images, never on a number it could not measure.
 */
export async function generationModelStage(ctx: StageContext): Promise<StageOutcome> {
  const { request, observed, task, status } = ctx;
  const data = ctx.generation!.data!;
  const settings = request.spec.generation;
  const maxAttempts = request.spec.budget?.maxAttempts ?? 4;
  const deadline = request.spec.budget?.deadline;
  const selection = selectGenerationModel({
    constraints: task.constraints, settings, trainImages: data.result.profile.images.train, gpu: observed.gpuAvailable,
    frameworks: observed.frameworks, ...(deadline ? { secondsLeft: Math.max(0, (Date.parse(deadline) - ctx.now.getTime()) / 1000) } : {}),
  });
  if (selection.candidates.length === 0) {
    const message = selection.reasons.join(' ');
    ctx.condition({ type: 'Trained', status: 'False', reason: 'NoModelFits', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'NoModelFits', message } };
  }
  const evaluation = settings?.evaluation ?? {};
  const attempts: GenerationAttempt[] = [];
  let running: { name: string; n: number } | undefined;
  let stopReason = '';
  let chosen: number | undefined;
  for (let n = 1; n <= maxAttempts + 1; n += 1) {
    const decision = nextGenerationAttempt(selection.candidates, attempts, task.objectives, maxAttempts);
    if (decision.kind === 'stop') {
      stopReason = decision.reason;
      chosen = decision.bestAttempt;
      break;
    }
    const spec = GenerationTrainJobSpec.parse({
      task: 'image-generation', dataDir: data.dir, model: decision.model, objectives: task.objectives,
      evaluation: { ...(evaluation.inceptionWeights ? { inceptionWeights: evaluation.inceptionWeights } : {}), ...(evaluation.clipModel ? { clipModel: evaluation.clipModel } : {}) },
      seed: n - 1,
    });
    const name = jobName(request.metadata.name, `train-${n}`, { spec, data: data.result.digest });
    const job = observed.jobs[name];
    const record: GenerationAttempt = { n, model: decision.model, reason: decision.reason };
    if (!job || job.state === 'Pending' || job.state === 'Running') {
      if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'generation.train', outDir: jobOutDir(observed.artifactRoot, name), spec, attempt: n, gpu: observed.gpuAvailable, runtime: 'torch' } });
      attempts.push(record);
      running = { name, n };
      break;
    }
    attempts.push(job.state === 'Failed' ? { ...record, error: job.message ?? 'failed' } : { ...record, result: GenerationTrainJobResult.parse(job.result) });
  }

  status.attempts = attempts.map((a): AttemptStatus => {
    const progress = running?.n === a.n ? progressOf(observed.jobs[running.name]) : undefined;
    return {
      n: a.n,
      model: a.model.id,
      state: a.result ? 'Succeeded' : a.error ? 'Failed' : 'Running',
      metrics: a.result ? generationMetrics(a.result) : {},
      ...(a.result ? {
        parameters: a.result.parameters, durationSeconds: a.result.durationSeconds, seed: a.result.seed, artifacts: dirname(a.result.modelDir),
        evaluation: { method: 'holdout' as const, rows: a.result.evaluation.heldOutImages },
      } : {}),
      ...(progress ? { progress } : {}),
      note: `${a.error ? `Failed: ${a.error}. ` : ''}${a.reason}${a.result ? ` ${trainedNote(a.result)}` : ''}`.trim().slice(0, 2000),
    };
  });
  if (running) {
    const p = status.attempts.at(-1)?.progress;
    const detail = p ? ` (step ${p.step}/${p.total}${p.loss !== undefined ? `, loss ${p.loss.toFixed(3)}` : ''}${p.etaSeconds !== undefined ? `, ETA ${Math.round(p.etaSeconds)} s` : ''})` : '';
    ctx.condition({ type: 'Trained', status: 'False', reason: 'Training', message: `Attempt ${running.n}: LoRA on ${attempts.at(-1)!.model.id}${detail}` });
    return { next: false, phase: 'Training', overall: { state: 'Reconciling', reason: 'Training', message: `Fine-tuning attempt ${running.n} of at most ${maxAttempts}` } };
  }
  const best = attempts.find((a) => a.n === chosen && a.result) ?? attempts.filter((a) => a.result).at(-1);
  if (!best?.result) {
    const message = `No attempt succeeded: ${attempts.map((a) => `#${a.n} ${a.model.id}: ${a.error}`).join('; ')}`;
    ctx.condition({ type: 'Trained', status: 'False', reason: 'TrainingFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'TrainingFailed', message } };
  }
  const result = best.result;
  ctx.condition({ type: 'Trained', status: 'True', reason: 'Trained', message: `${attempts.filter((a) => a.result).length} attempt(s); kept #${best.n} ${best.model.id}. ${stopReason}`.trim() });
  status.metric = generationHeadline(result, task.objectives);
  status.model = {
    name: request.metadata.name, attempt: best.n, parameters: result.baseParameters + result.parameters, sizeBytes: result.modelBytes,
    format: 'diffusers-lora', metrics: generationMetrics(result), uri: result.modelDir,
    lineage: { dataDigest: data.result.digest, seed: result.seed, packages: result.packageVersions },
  };
  const unmeasured = result.objectives.filter((o) => o.measured === null);
  const missed = result.objectives.filter((o) => o.measured !== null && !o.met);
  if (task.objectives.length === 0) {
    ctx.condition({ type: 'TargetMet', status: 'True', reason: 'NoTargetStated', message: `No quality target was stated. ${status.metric}.` });
  } else if (result.objectivesMet) {
    ctx.condition({ type: 'TargetMet', status: 'True', reason: 'TargetMet', message: `${status.metric}.` });
  } else {
    const why = [
      ...missed.map((o) => `${o.metric} ${o.measured} (target ${o.op} ${o.value})`),
      ...unmeasured.map((o) => result.unavailable.find((u) => u.metric === o.metric)?.reason ?? `${o.metric} was not measured`),
    ].join('; ');
    const reason = missed.length ? 'EvaluationBelowTarget' : 'MetricUnavailable';
    ctx.condition({ type: 'TargetMet', status: 'False', reason, message: why });
    if (!request.spec.overrides?.deployBestAttempt) {
      const question = missed.length
        ? `After ${attempts.length} attempt(s) the best generator (#${best.n}) reached ${why}. Add style images, raise spec.budget.maxAttempts, relax the target in spec.overrides, or set spec.overrides.deployBestAttempt: true to deploy it as it is.`
        : `I cannot judge the target: ${why}. Give the weights in spec.generation.evaluation (inceptionWeights for FID, clipModel for the CLIP score), or set spec.overrides.deployBestAttempt: true to deploy it on the proxy (${status.metric}).`;
      return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason, message: question } };
    }
  }
  ctx.generation = { ...ctx.generation, trained: { attempt: best.n, result } };
  return { next: true };
}
