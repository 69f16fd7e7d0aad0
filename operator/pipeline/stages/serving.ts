import { ConvertJobResult, ConvertJobSpec } from '../../../agents/jobs/convert-spec.js';
import { isBoxTask } from '../../../agents/data/boxes.js';
import { buildApiDoc } from '../../../agents/server/api-doc.js';
import { buildTabularApiDoc } from '../../../agents/server/api-doc-tabular.js';
import { buildBoxApiDoc } from '../../../agents/server/api-doc-boxes.js';
import { estimateReplicas } from '../../../agents/server/estimate.js';
import type { Constraints } from '../../../agents/task/task-spec.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { apiDocPath, jobOutDir } from './paths.js';
import { waitingOutcome } from './training-resources.js';

/** The limits a delivered model must keep, checked on what was converted: its bytes and its latency. */
export function deliveredLimitViolations(constraints: Constraints, converted: ConvertJobResult): string[] {
  const out: string[] = [];
  if (constraints.maxModelBytes !== undefined && converted.modelBytes > constraints.maxModelBytes) {
    out.push(`${converted.precision.toUpperCase()} model files are ${converted.modelBytes.toLocaleString('en-US')} bytes, over the limit of ${constraints.maxModelBytes.toLocaleString('en-US')}`);
  }
  const latency = converted.profile?.serviceTimeMs;
  if (constraints.maxLatencyMs !== undefined && latency !== undefined && latency > constraints.maxLatencyMs) {
    out.push(`one row takes ${latency.toFixed(2)} ms, over the limit of ${constraints.maxLatencyMs} ms`);
  }
  return out;
}

/**
 * Serving stage (Server agent): convert with a parity check, benchmark, size replicas from the
 * measurement and the targets, write the API document, and serve.
 */
export function servingStage(ctx: StageContext): StageOutcome {
  const { request, observed, task, status } = ctx;
  if (request.spec.serving?.enabled === false) return { next: true };
  const trained = ctx.trained!;
  const modelName = request.metadata.name;
  const onGpu = task.serving?.accelerator !== undefined && task.serving.accelerator !== 'cpu';
  // GPU serving: FP16 weights and ONNX Runtime's TensorRT execution provider; CPU serving: dynamic INT8.
  // Either way behind the accuracy gate, keeping FP32 when the reduced precision loses accuracy.
  const spec = ConvertJobSpec.parse({
    modelDir: trained.modelDir, modelName, dataDir: ctx.data!.dir,
    precisions: onGpu ? ['fp16'] : ['int8'],
    triton: { accelerator: onGpu ? 'gpu' : 'cpu' },
  });
  const name = jobName(request.metadata.name, 'convert', { spec, model: trained.result.modelDir, data: ctx.data!.result.digest });
  const outDir = jobOutDir(observed.artifactRoot, name);
  const job = observed.jobs[name];
  if (!job || job.state === 'Pending' || job.state === 'Running') {
    if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'convert', outDir, spec, runtime: trained.framework } });
    const waiting = waitingOutcome(job, `Conversion job ${name}`);
    ctx.condition({ type: 'Converted', status: 'False', reason: waiting?.overall.reason ?? 'Converting', message: waiting?.overall.message ?? `Conversion job ${name} is ${job?.state ?? 'starting'}` });
    if (waiting) return waiting;
    return { next: false, phase: 'Converting', overall: { state: 'Reconciling', reason: 'Converting', message: `Converting and benchmarking attempt ${trained.attempt}` } };
  }
  if (job.state === 'Failed') {
    const message = `Conversion job ${name} failed: ${job.message ?? 'no message'}`;
    ctx.condition({ type: 'Converted', status: 'False', reason: 'ConversionFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'ConversionFailed', message } };
  }
  const converted = ConvertJobResult.parse(job.result);
  const parity = converted.parity.prediction
    ? `predictions within ${converted.parity.prediction.tolerance} (relative) on ${converted.parity.labelAgreement * 100}% of ${converted.parity.rows} rows, largest difference ${converted.parity.prediction.maxAbsDiff.toExponential(2)}`
    : `${converted.parity.labelAgreement} label agreement`;
  ctx.condition({ type: 'Converted', status: 'True', reason: 'Converted', message: `${converted.precision} ONNX, parity: ${parity}` });
  const overLimits = deliveredLimitViolations(task.constraints ?? {}, converted);
  if (overLimits.length > 0) {
    const message = `The converted model breaks the limits: ${overLimits.join('; ')}.`;
    ctx.condition({ type: 'TargetMet', status: 'False', reason: 'ConvertedModelOverLimit', message });
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'ConvertedModelOverLimit', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'ConvertedModelOverLimit', message } };
  }

  if (!converted.profile) {
    const message = 'The conversion job measured no serving profile, so replicas cannot be sized.';
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'NoServingProfile', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'NoServingProfile', message } };
  }
  const estimate = estimateReplicas(converted.profile, task.serving, observed.maxReplicas !== undefined ? { maxReplicas: observed.maxReplicas } : {});
  status.estimate = estimate;
  if (estimate.replicas === 0) {
    const message = estimate.reasoning[0] ?? 'The serving targets cannot be met with this model.';
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'EstimateInfeasible', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'EstimateInfeasible', message } };
  }

  const repositoryDir = converted.repositoryDir;
  if (status.model) {
    status.model.format = converted.format;
    status.model.sizeBytes = converted.modelBytes;
    status.model.uri = repositoryDir;
  }
  const docPath = apiDocPath(observed.artifactRoot);
  const serving = observed.serving;
  const url = serving?.url ?? '';
  const doc = converted.tabular
    ? buildTabularApiDoc({ model: modelName, serving: converted.tabular, labels: converted.labels, serverUrl: url || 'http://127.0.0.1:8000', metrics: trained.result.metrics, estimate })
    : isBoxTask(task.task)
    ? buildBoxApiDoc({
      model: modelName, kind: task.task === 'visual-grounding' ? 'grounding' : 'detection', labels: converted.labels, serverUrl: url || 'http://127.0.0.1:8000',
      metrics: trained.result.metrics, estimate, ...(trained.result.boxes ? { baselines: trained.result.boxes.baselines } : {}),
      ...(converted.example ? { example: converted.example } : {}), ...(converted.maxDetections ? { maxDetections: converted.maxDetections } : {}),
    })
    : buildApiDoc({ model: modelName, labels: converted.labels, modality: task.modality === 'image' ? 'image' : 'text', serverUrl: url || 'http://127.0.0.1:8000', metrics: trained.result.metrics, estimate });
  ctx.actions.push({ kind: 'writeFile', path: docPath, content: `${JSON.stringify(doc.openapi, null, 2)}\n` });
  ctx.actions.push({ kind: 'writeFile', path: docPath.replace(/openapi\.json$/, 'README.md'), content: doc.markdown });
  status.apiDoc = { uri: docPath, summary: doc.summary };
  ctx.actions.push({ kind: 'serve', model: modelName, repositoryDir, estimate, apiDocPath: docPath });
  return deployedOutcome(ctx, modelName, estimate.replicas, 'The converted model') ?? { next: true };
}

/**
 * Whether the served model is up: failed (Stalled, ServingFailed, `what` did not serve), still
 * deploying, or ready — then the endpoint goes into status with Deployed=True and undefined is returned.
 */
export function deployedOutcome(ctx: StageContext, modelName: string, replicas: number, what: string): StageOutcome | undefined {
  const serving = ctx.observed.serving;
  if (serving && !serving.ready && serving.message) {
    const message = `${what} did not serve: ${serving.message}`;
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'ServingFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'ServingFailed', message } };
  }
  if (!serving?.ready) {
    ctx.condition({ type: 'Deployed', status: 'False', reason: 'Deploying', message: serving?.message ?? `Deploying ${replicas} replica(s)` });
    return { next: false, phase: 'Deploying', overall: { state: 'Reconciling', reason: 'Deploying', message: `Deploying ${modelName}` } };
  }
  ctx.status.endpoint = { url: `${serving.url ?? ''}/v2/models/${modelName}`, protocol: 'kserve-v2', model: modelName };
  ctx.condition({ type: 'Deployed', status: 'True', reason: 'Deployed', message: `${replicas} replica(s) planned; endpoint ${ctx.status.endpoint.url}` });
  return undefined;
}
