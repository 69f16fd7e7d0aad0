import { join } from 'node:path';
import { GenerationConvertJobResult, GenerationConvertJobSpec } from '../../../agents/jobs/generation-spec.js';
import { buildGenerationApiDoc } from '../../../agents/server/generation-api-doc.js';
import { estimateGenerationReplicas } from '../../../agents/server/generation-estimate.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { apiDocPath, jobOutDir } from './paths.js';
import { deployedOutcome } from './serving.js';

/** Steps a served request may ask for (triton_model.py's MAX_STEPS). */
export const MAX_SERVED_STEPS = 200;

/**
 * Serving stage of an image generation request (Server agent): write the Triton Python-backend model,
 * prove the reloaded LoRA reproduces the reference image, measure seconds per image at the served steps
 * and resolution and the peak memory, size replicas from that, write the API document with the served
 * model's real answer as its example, and serve.
 */
export function generationServingStage(ctx: StageContext): StageOutcome {
  const { request, observed, task, status } = ctx;
  if (request.spec.serving?.enabled === false) return { next: true };
  const trained = ctx.generation!.trained!;
  const modelName = request.metadata.name;
  const onGpu = task.serving?.accelerator !== undefined && task.serving.accelerator !== 'cpu';
  const spec = GenerationConvertJobSpec.parse({
    modelDir: trained.result.modelDir, modelName,
    ...(request.spec.generation?.steps !== undefined ? { steps: request.spec.generation.steps } : {}),
    triton: { accelerator: onGpu ? 'gpu' : 'cpu' },
  });
  const name = jobName(modelName, 'convert', { spec, model: trained.result.modelDir, reference: trained.result.reference.sha256 });
  const outDir = jobOutDir(observed.artifactRoot, name);
  const job = observed.jobs[name];
  if (!job || job.state === 'Pending' || job.state === 'Running') {
    if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'generation.convert', outDir, spec, runtime: 'torch', gpu: onGpu && observed.gpuAvailable } });
    ctx.condition({ type: 'Converted', status: 'False', reason: 'Converting', message: `Packaging job ${name} is ${job?.state ?? 'starting'}` });
    return { next: false, phase: 'Converting', overall: { state: 'Reconciling', reason: 'Converting', message: `Packaging and measuring attempt ${trained.attempt}` } };
  }
  if (job.state === 'Failed') {
    const message = `Packaging job ${name} failed: ${job.message ?? 'no message'}`;
    ctx.condition({ type: 'Converted', status: 'False', reason: 'ConversionFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'ConversionFailed', message } };
  }
  const converted = GenerationConvertJobResult.parse(job.result);
  const r = converted.reproduction;
  ctx.condition({ type: 'Converted', status: 'True', reason: 'Converted', message:
    `Triton Python-backend model with the ${converted.modelBytes.toLocaleString('en-US')}-byte LoRA on ${converted.baseModel} (referenced, not copied); ` +
    `reloaded, it reproduced the reference image for seed ${r.seed} (largest pixel difference ${r.maxAbsDiff}, tolerance ${r.tolerance}).` });
  const b = converted.benchmark;
  const maxLatencyMs = task.constraints?.maxLatencyMs;
  if (maxLatencyMs !== undefined && b.secondsPerImage * 1000 > maxLatencyMs) {
    const message = `One image takes ${b.secondsPerImage} s at ${converted.steps} steps on ${b.device}, over the limit of ${maxLatencyMs / 1000} s.`;
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'ConvertedModelOverLimit', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'ConvertedModelOverLimit', message } };
  }
  const estimate = estimateGenerationReplicas(converted.profile,
    { steps: converted.steps, resolution: converted.resolution, secondsPerImage: b.secondsPerImage, peakGpuBytes: b.peakGpuBytes },
    task.serving, observed.maxReplicas !== undefined ? { maxReplicas: observed.maxReplicas } : {});
  status.estimate = estimate;
  if (estimate.replicas === 0) {
    const message = estimate.reasoning[0] ?? 'The serving targets cannot be met with this generator.';
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'EstimateInfeasible', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'EstimateInfeasible', message } };
  }
  if (status.model) {
    status.model.format = 'triton-python';
    status.model.uri = converted.repositoryDir;
  }
  const docPath = apiDocPath(observed.artifactRoot);
  const url = observed.serving?.url ?? '';
  const result = trained.result;
  const doc = buildGenerationApiDoc({
    model: modelName, serverUrl: url || 'http://127.0.0.1:8000', resolution: converted.resolution, defaultSteps: converted.steps,
    maxSteps: MAX_SERVED_STEPS, maxBatchSize: converted.profile.maxBatchSize,
    example: { ...converted.example, file: join(outDir, converted.example.file) },
    metrics: result.metrics, proxies: result.proxies, estimate,
  });
  ctx.actions.push({ kind: 'writeFile', path: docPath, content: `${JSON.stringify(doc.openapi, null, 2)}\n` });
  ctx.actions.push({ kind: 'writeFile', path: docPath.replace(/openapi\.json$/, 'README.md'), content: doc.markdown });
  status.apiDoc = { uri: docPath, summary: doc.summary };
  ctx.actions.push({ kind: 'serve', model: modelName, repositoryDir: converted.repositoryDir, estimate, apiDocPath: docPath });
  const notDeployed = deployedOutcome(ctx, modelName, estimate.replicas, 'The generator');
  if (notDeployed) return notDeployed;
  ctx.generation = { ...ctx.generation, converted };
  return { next: true };
}
