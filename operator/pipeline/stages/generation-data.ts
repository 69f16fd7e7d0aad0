import { MIN_STYLE_IMAGES, reviewStyleSet, styleSetSummary } from '../../../agents/data/generation.js';
import { GenerationDataJobResult, GenerationDataJobSpec } from '../../../agents/jobs/generation-spec.js';
import { plannedResolution } from '../../../agents/model/generation.js';
import { jobName } from '../job-names.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { sourcesNotReady } from './data.js';
import { jobOutDir } from './paths.js';

/**
 * Data stage of an image generation request (Data agent): the style images come as image folders; the
 * style-set job captions them, checks resolutions, duplicates and caption coverage, and holds some out;
 * the agent asks for more images when there are too few.
 */
export function generationDataStage(ctx: StageContext): StageOutcome {
  const { request, observed, task, status } = ctx;
  const sources = (request.spec.data ?? []).filter((s) => s.role !== 'unlabelled');
  const wrong = sources.filter((s) => s.format !== 'imagefolder');
  if (sources.length === 0 || wrong.length > 0) {
    const question = wrong.length
      ? `Image generation learns a style from images: ${wrong.map((s) => `source ${s.name} is ${s.format}`).join(', ')}; give an image folder instead (format: imagefolder).`
      : `I need images of the style to learn: add an image folder to spec.data (format: imagefolder, at least ${MIN_STYLE_IMAGES} images; a caption per image in metadata.jsonl or a .txt beside it helps, otherwise I write captions from the file and folder names).`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'NoStyleImages', message: question });
    return { next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'NoStyleImages', message: question } };
  }
  const notReady = sourcesNotReady(ctx, (request.spec.data ?? []).length);
  if (notReady) return notReady;

  const spec = GenerationDataJobSpec.parse({
    task: 'image-generation',
    sources: sources.map((s) => {
      const seen = observed.sources.find((o) => o.name === s.name)!;
      return { name: s.name, uri: seen.location ?? s.uri, format: s.format, role: s.role };
    }),
    resolution: plannedResolution(request.spec.generation),
    seed: 0,
  });
  const name = jobName(request.metadata.name, 'data', { spec, digests: observed.sources.map((s) => [s.name, s.digest]) });
  const outDir = jobOutDir(observed.artifactRoot, name);
  const job = observed.jobs[name];
  if (!job || job.state === 'Pending' || job.state === 'Running') {
    if (!job) ctx.actions.push({ kind: 'runJob', job: { name, kind: 'generation.data', outDir, spec, runtime: 'sklearn' } });
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'Preparing', message: `Style-set job ${name} is ${job?.state ?? 'starting'}` });
    return { next: false, phase: 'PreparingData', overall: { state: 'Reconciling', reason: 'PreparingData', message: `Running style-set job ${name}` } };
  }
  if (job.state === 'Failed') {
    const message = `Style-set job ${name} failed: ${job.message ?? 'no message'}`;
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'DataJobFailed', message });
    return { next: false, phase: 'Failed', overall: { state: 'Stalled', reason: 'DataJobFailed', message } };
  }
  const result = GenerationDataJobResult.parse(job.result);
  const p = result.profile;
  const summary = styleSetSummary(p);
  status.data = {
    digest: result.digest,
    summary: [summary, ...result.warnings].join(' ').slice(0, 4096),
    counts: {
      loaded: p.images.valid, train: p.images.train, heldOut: p.images.heldOut, duplicatesRemoved: p.duplicates.removed,
      unreadable: p.images.invalid, captionsGiven: p.captions.given, captionsFromNames: p.captions.fromNames,
    },
    reportUri: `${outDir}/result.json`,
  };
  const review = reviewStyleSet(task, p);
  if (review.moreDataNeeded) {
    ctx.condition({ type: 'DataPrepared', status: 'False', reason: 'NotEnoughData', message: review.question });
    return { next: false, phase: 'AwaitingInput', question: review.question, overall: { state: 'AwaitingInput', reason: 'NotEnoughData', message: review.question } };
  }
  ctx.condition({ type: 'DataPrepared', status: 'True', reason: 'DataPrepared', message: [summary, ...review.reasons.slice(0, 1)].join(' ') });
  ctx.generation = { ...ctx.generation, data: { dir: outDir, result } };
  return { next: true };
}
