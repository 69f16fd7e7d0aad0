import type { GenerationConvertJobResult, GenerationDataJobResult, GenerationTrainJobResult } from '../../../agents/jobs/generation-spec.js';
import type { TrainingRequest } from '../../api/training-request.js';
import type { Observed } from '../types.js';

/** An image generation request on an image folder (the brand-style example). */
export function generationRequestFixture(spec: Partial<TrainingRequest['spec']> = {}): TrainingRequest {
  return {
    apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest',
    metadata: { name: 'posters', namespace: 'default', generation: 1 },
    spec: {
      requirement: 'Fine-tune an image generator to make product posters in the style of our spring campaign.',
      data: [{ name: 'style', uri: 'file:style', format: 'imagefolder', role: 'train', textColumn: 'text', labelColumn: 'label' }],
      approval: 'auto',
      generation: { baseModel: 'tiny' },
      ...spec,
    },
  };
}

/** What a backend observes of the image folder. */
export function generationObservedFixture(patch: Partial<Observed> = {}): Observed {
  return {
    artifactRoot: '/artifacts/default/posters',
    sources: [{ name: 'style', role: 'train', digest: 'sha256:ccc', location: '/data/style' }],
    jobs: {}, gpuAvailable: false, frameworks: ['sklearn', 'torch'],
    ...patch,
  };
}

/** The style-set job's result for `train` images to learn from and `heldOut` held out. */
export function styleDataFixture(train = 19, heldOut = 5): GenerationDataJobResult {
  const kept = train + heldOut;
  return {
    kind: 'generation-data', digest: `sha256:${'d'.repeat(64)}`, outDir: '/artifacts/default/posters/jobs/data',
    files: { train: 'train.jsonl', heldOut: 'heldout.jsonl' },
    profile: {
      images: { files: kept, valid: kept, invalid: 0, kept, train, heldOut }, resolutions: { '64x64': kept },
      shortSide: { min: 64, p50: 64, p95: 64, max: 64, mean: 64 }, belowResolution: 0, extremeAspect: 0, trainingResolution: 32,
      duplicates: { exact: 0, near: 0, removed: 0 }, leakage: { exact: 0, near: 0 },
      captions: { given: 0, fromMetadata: 0, fromSidecar: 0, fromNames: kept, empty: 0, coverage: 0, distinct: kept, examples: ['jar, pastel jar with tulips'] },
      heldOut: { method: 'split', images: heldOut, reason: `${heldOut} held out at random` },
    },
    warnings: [`${kept} of ${kept} captions were written from file and folder names`], durationSeconds: 1, seed: 0, packageVersions: {},
  };
}

/** A LoRA training result; `metrics` are the real ones (empty: no extractor weights were given). */
export function generationTrainFixture(modelDir: string, metrics: Record<string, number> = {}, objectives: GenerationTrainJobResult['objectives'] = []): GenerationTrainJobResult {
  return {
    kind: 'generation-train', modelId: 'diffusion-tiny-lora', family: 'diffusers-sd-lora', metrics,
    proxies: [{ name: 'fid-proxy-efficientnet-lite0', value: 388.9, baseValue: 390.0, featureExtractor: 'EfficientNet-Lite0', note: 'A proxy, not FID.' }],
    unavailable: [
      ...(metrics.fid === undefined ? [{ metric: 'fid', reason: 'FID was not computed: no weights were given' }] : []),
      ...(metrics['clip-score'] === undefined ? [{ metric: 'clip-score', reason: 'CLIP score was not computed: no weights were given' }] : []),
    ],
    evaluation: { method: 'holdout', heldOutImages: 5, generatedImages: 5, inferenceSteps: 10, guidanceScale: 3 },
    objectives, objectivesMet: objectives.every((o) => o.met), parameters: 23_040, baseParameters: 2_116_501, modelBytes: 107_232,
    trainImages: 19, durationSeconds: 46, seed: 0,
    reference: { prompt: 'jar, pastel jar with tulips', seed: 1000, steps: 10, guidanceScale: 3, file: 'reference.png', sha256: 'e'.repeat(64) },
    training: { framework: 'torch', hyperparameters: {}, device: { kind: 'cpu', name: 'cpu x1', mixedPrecision: null }, gradientCheckpointing: false,
      steps: 40, stepsPerSecond: 3.9, samplesPerSecond: 15.6, peakMemoryBytes: 963e6, loss: { first: 1.126, last: 1.058 } },
    plots: [], modelDir, packageVersions: {},
  };
}

/** The packaging job's result: repository, reproduction, benchmark at 1.4 s per image. */
export function generationConvertFixture(repositoryDir: string, secondsPerImage = 1.4): GenerationConvertJobResult {
  return {
    kind: 'generation-convert', ok: true, modelName: 'posters', backend: 'python', repositoryDir,
    repositoryFiles: ['posters/config.pbtxt', 'posters/1/model.py'], modelDir: '/m', modelBytes: 107_232, baseModel: 'tiny', resolution: 32, steps: 10,
    reproduction: { prompt: 'jar', seed: 1000, steps: 10, maxAbsDiff: 0, tolerance: 2, passed: true },
    benchmark: { device: 'cpu', images: 4, secondsPerImage, p99SecondsPerImage: secondsPerImage * 1.07, cv: 0.04, peakRssBytes: 917e6, baseRssBytes: 536e6 },
    example: { prompt: 'jar', seed: 0, steps: 10, file: 'example.png', pngBase64: 'iVBORw0KGgo=' },
    profile: { source: 'python-backend', accelerator: 'cpu', instances: 1, maxBatchSize: 4, serviceTimeMs: secondsPerImage * 1000,
      serviceTimeP99Ms: secondsPerImage * 1070, serviceTimeCv: 0.04, saturationQps: 1 / secondsPerImage, peakRssBytes: 917e6, baseRssBytes: 536e6 },
    notes: [], durationSeconds: 30,
  };
}
