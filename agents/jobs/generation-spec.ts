import { z } from 'zod';
import { ServingProfile } from '../server/estimate.js';
import { Objective } from '../task/task-spec.js';
import { DataSource, Distribution } from './data-spec.js';
import { ModelChoice, ObjectiveOutcome } from './train-spec.js';

// Image generation (a brand's style): the style-set data job, LoRA fine-tuning of a text-to-image
// diffusion model, and the job that writes and measures its Triton Python-backend model. Their JSON
// Schemas are generated like the others (registry.ts) and validated by the Python jobs.

/** Input of `python -m trainer_agent_jobs.generation.data`: image folders of the style to learn. */
export const GenerationDataJobSpec = z.object({
  task: z.literal('image-generation'),
  sources: z.array(DataSource).min(1).max(64).describe('image folders; role test holds out style images for FID'),
  resolution: z.number().int().min(8).max(2048).describe('training resolution (px): smaller images are flagged'),
  heldOut: z.object({
    fraction: z.number().gt(0).lt(1).default(0.2),
    minImages: z.number().int().min(2).max(10_000).default(4),
    maxImages: z.number().int().min(2).max(10_000).default(64),
  }).default({ fraction: 0.2, minImages: 4, maxImages: 64 }).describe('how many style images to hold out when no test source is given'),
  nearDuplicateThreshold: z.number().min(0.5).max(1).default(0.98).describe('thumbnail correlation at which two images count as copies'),
  seed: z.number().int().min(0).default(0),
});
export type GenerationDataJobSpec = z.infer<typeof GenerationDataJobSpec>;

/** What the style-set data job measured: the Data agent's perception of an image generation set. */
export const GenerationDataProfile = z.object({
  images: z.object({
    files: z.number().int().min(0), valid: z.number().int().min(0), invalid: z.number().int().min(0),
    kept: z.number().int().min(0).describe('after duplicates were removed'),
    train: z.number().int().min(0), heldOut: z.number().int().min(0),
  }),
  resolutions: z.record(z.string(), z.number().int()).describe('"WxH" → count (most common 20)'),
  shortSide: Distribution,
  belowResolution: z.number().int().min(0).describe('images whose short side is below the training resolution'),
  extremeAspect: z.number().int().min(0),
  trainingResolution: z.number().int().min(1),
  duplicates: z.object({ exact: z.number().int().min(0), near: z.number().int().min(0), removed: z.number().int().min(0) }),
  leakage: z.object({ exact: z.number().int().min(0), near: z.number().int().min(0) }),
  captions: z.object({
    given: z.number().int().min(0), fromMetadata: z.number().int().min(0), fromSidecar: z.number().int().min(0),
    fromNames: z.number().int().min(0), empty: z.number().int().min(0),
    coverage: z.number().min(0).max(1).describe('share of images with a caption the user gave'),
    distinct: z.number().int().min(0),
    examples: z.array(z.string()).max(5),
  }),
  heldOut: z.object({ method: z.enum(['given', 'split']), images: z.number().int().min(0), reason: z.string() }),
});
export type GenerationDataProfile = z.infer<typeof GenerationDataProfile>;

/** `result.json` of the style-set data job. */
export const GenerationDataJobResult = z.object({
  kind: z.literal('generation-data'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  outDir: z.string(),
  files: z.record(z.string(), z.string()),
  profile: GenerationDataProfile,
  warnings: z.array(z.string()),
  durationSeconds: z.number().min(0),
  seed: z.number().int(),
  packageVersions: z.record(z.string(), z.string()),
});
export type GenerationDataJobResult = z.infer<typeof GenerationDataJobResult>;

/**
 * Feature extractors for FID and CLIP score. Both are computed only from real weights given here (their
 * usual downloads are not made); without them the job says so and reports a labelled proxy.
 */
export const GenerationEvaluationSpec = z.object({
  inceptionWeights: z.string().min(1).max(2048).optional()
    .describe("FID: torch-fidelity's Inception-v3 weights file (pt_inception-2015-12-05), a path (relative paths are on the artifact volume)"),
  clipModel: z.string().min(1).max(2048).optional()
    .describe('CLIP score: a Hugging Face CLIP model folder (config, weights, tokenizer, preprocessor), a path or hub:<id>'),
  images: z.number().int().min(2).max(10_000).default(16).describe('images generated for the held-out captions (at most one per held-out image)'),
  proxy: z.boolean().default(true).describe('also report FID in the feature space of a shipped ImageNet classifier (a labelled proxy)'),
});
export type GenerationEvaluationSpec = z.infer<typeof GenerationEvaluationSpec>;

/** Input of `python -m trainer_agent_jobs.generation.train`: LoRA fine-tuning of a diffusion model. */
export const GenerationTrainJobSpec = z.object({
  task: z.literal('image-generation'),
  dataDir: z.string().min(1).max(2048).describe("the style-set data job's output directory"),
  model: ModelChoice.describe('hyperparameters: pretrained (weights reference or "tiny"), resolution, steps, batchSize, learningRate, rank, ...'),
  objectives: z.array(Objective).max(16).default([]),
  evaluation: GenerationEvaluationSpec.default(GenerationEvaluationSpec.parse({})),
  seed: z.number().int().min(0).default(0),
});
export type GenerationTrainJobSpec = z.infer<typeof GenerationTrainJobSpec>;

/** A metric measured with a stand-in feature extractor: never to be compared with the real one. */
export const ProxyMetric = z.object({
  name: z.string().describe('e.g. fid-proxy-efficientnet-lite0'),
  value: z.number(),
  baseValue: z.number().nullable().describe('the same measure for the base model before fine-tuning'),
  featureExtractor: z.string(),
  note: z.string(),
});
export type ProxyMetric = z.infer<typeof ProxyMetric>;

/** The image the fine-tuned model made for a fixed prompt and seed: serving must reproduce it. */
export const ReferenceImage = z.object({
  prompt: z.string(),
  seed: z.number().int().min(0),
  steps: z.number().int().min(1),
  guidanceScale: z.number().min(0),
  file: z.string().describe('PNG inside model/'),
  sha256: z.string(),
});
export type ReferenceImage = z.infer<typeof ReferenceImage>;

/** `model/manifest.json` of a fine-tuned generator: the LoRA weights and the base model they apply to. */
export const GenerationModelManifest = z.object({
  framework: z.literal('torch'),
  task: z.literal('image-generation'),
  modelId: z.string(),
  family: z.string(),
  base: z.object({
    reference: z.string().describe('what the request named: hub:<id>, a path, or tiny'),
    location: z.string().describe('what loads it: a folder or a hub id (the base is referenced, never copied)'),
    parameters: z.number().int().min(0),
  }),
  lora: z.object({ file: z.string(), rank: z.number().int().min(1), alpha: z.number().positive(), targetModules: z.array(z.string()).min(1) }),
  resolution: z.number().int().min(8),
  inference: z.object({ steps: z.number().int().min(1), guidanceScale: z.number().min(0), scheduler: z.string() }),
  reference: ReferenceImage,
  packageVersions: z.record(z.string(), z.string()).default({}),
});
export type GenerationModelManifest = z.infer<typeof GenerationModelManifest>;

/** `result.json` of the LoRA fine-tuning job. */
export const GenerationTrainJobResult = z.object({
  kind: z.literal('generation-train'),
  modelId: z.string(),
  family: z.string(),
  metrics: z.record(z.string(), z.number()).describe('measured with the real feature extractors only: fid, clip-score'),
  proxies: z.array(ProxyMetric).max(8),
  unavailable: z.array(z.object({ metric: z.string(), reason: z.string() })).describe('metrics not computed, and why'),
  evaluation: z.object({
    method: z.literal('holdout'),
    heldOutImages: z.number().int().min(0),
    generatedImages: z.number().int().min(0),
    inferenceSteps: z.number().int().min(1),
    guidanceScale: z.number().min(0),
  }),
  objectives: z.array(ObjectiveOutcome),
  objectivesMet: z.boolean(),
  parameters: z.number().int().min(0).describe('trainable LoRA parameters'),
  baseParameters: z.number().int().min(0),
  modelBytes: z.number().int().min(0).describe('bytes of the LoRA weights file (the artifact)'),
  trainImages: z.number().int().min(0),
  durationSeconds: z.number().min(0),
  seed: z.number().int(),
  dataDigest: z.string().optional(),
  reference: ReferenceImage,
  training: z.object({
    framework: z.literal('torch'),
    hyperparameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.union([z.number(), z.string()]))])),
    device: z.object({ kind: z.string(), name: z.string(), mixedPrecision: z.string().nullable() }),
    gradientCheckpointing: z.boolean(),
    steps: z.number().int().min(0),
    stepsPerSecond: z.number().min(0),
    samplesPerSecond: z.number().min(0),
    resumedFromStep: z.number().int().min(0).optional(),
    peakMemoryBytes: z.number().int().min(0).describe('peak GPU memory on a GPU, peak resident memory on a CPU'),
    loss: z.object({ first: z.number(), last: z.number() }),
  }),
  plots: z.array(z.string()),
  modelDir: z.string(),
  packageVersions: z.record(z.string(), z.string()),
});
export type GenerationTrainJobResult = z.infer<typeof GenerationTrainJobResult>;

/** Input of `python -m trainer_agent_jobs.generation.convert`: the Triton repository and its measurement. */
export const GenerationConvertJobSpec = z.object({
  modelDir: z.string().min(1).describe("the train job's model/ folder (or its output folder)"),
  modelName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
  steps: z.number().int().min(1).max(500).optional().describe('denoising steps per image served by default (default: the training manifest)'),
  triton: z.object({
    instances: z.number().int().min(1).max(16).default(1),
    maxBatchSize: z.number().int().min(1).max(64).default(4),
    queueDelayUs: z.number().int().min(0).max(10_000_000).default(100_000),
    accelerator: z.enum(['cpu', 'gpu']).default('cpu'),
  }).default({ instances: 1, maxBatchSize: 4, queueDelayUs: 100_000, accelerator: 'cpu' }),
  benchmark: z.object({
    images: z.number().int().min(2).max(100).default(4).describe('timed single-image requests after the warm-up'),
    warmup: z.number().int().min(0).max(10).default(1),
  }).default({ images: 4, warmup: 1 }),
  reproductionTolerance: z.number().int().min(0).max(255).default(2).describe('largest per-pixel difference (0-255) allowed between the reference image and its reproduction'),
  examplePrompt: z.string().min(1).max(500).optional(),
  seed: z.number().int().min(0).default(0),
});
export type GenerationConvertJobSpec = z.infer<typeof GenerationConvertJobSpec>;

/** `result.json` of the generation conversion job. */
export const GenerationConvertJobResult = z.object({
  kind: z.literal('generation-convert'),
  ok: z.literal(true),
  modelName: z.string(),
  backend: z.literal('python'),
  repositoryDir: z.string(),
  repositoryFiles: z.array(z.string()),
  modelDir: z.string(),
  modelBytes: z.number().int().min(0).describe('the LoRA weights in the repository (the base model is referenced)'),
  baseModel: z.string(),
  resolution: z.number().int().min(8),
  steps: z.number().int().min(1),
  reproduction: z.object({
    prompt: z.string(), seed: z.number().int(), steps: z.number().int(),
    maxAbsDiff: z.number().int().min(0).max(255), tolerance: z.number().int().min(0), passed: z.boolean(),
  }),
  benchmark: z.object({
    device: z.string(),
    images: z.number().int().min(1),
    secondsPerImage: z.number().positive(),
    p99SecondsPerImage: z.number().positive(),
    cv: z.number().min(0),
    peakRssBytes: z.number().int().positive(),
    baseRssBytes: z.number().int().min(0),
    peakGpuBytes: z.number().int().min(0).optional(),
  }),
  example: z.object({ prompt: z.string(), seed: z.number().int(), steps: z.number().int(), file: z.string(), pngBase64: z.string().optional() }),
  profile: ServingProfile,
  notes: z.array(z.string()),
  durationSeconds: z.number().min(0),
});
export type GenerationConvertJobResult = z.infer<typeof GenerationConvertJobResult>;
