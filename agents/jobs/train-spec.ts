import { z } from 'zod';
import { Modality, Objective, Task } from '../task/task-spec.js';

/** A hyperparameter value as it travels in JSON. */
export const HyperparameterValue = z.union([
  z.number(), z.string(), z.boolean(), z.null(), z.array(z.union([z.number(), z.string()])),
]);

/** The catalog entry a training attempt uses: id, family (the training code) and hyperparameters. */
export const ModelChoice = z.object({
  id: z.string().min(1).max(128),
  family: z.string().min(1).max(128),
  hyperparameters: z.record(z.string(), HyperparameterValue).default({}),
});
export type ModelChoice = z.infer<typeof ModelChoice>;

/**
 * Hierarchical mode: the teacher's soft labels for each view's unlabelled rows (written by the teacher's
 * own train job, one file per view) join the student's training rows; the student learns from them
 * (cross-entropy against the teacher's probabilities: distillation).
 */
export const TeacherSpec = z.object({
  modelDir: z.string().min(1).max(2048).describe("the teacher train job's model/ folder"),
  confidenceThreshold: z.number().min(0).max(1).default(0.9).describe('rows whose top teacher probability is lower are left out'),
  maxRows: z.number().int().positive().optional(),
  temperature: z.number().gt(0).max(10).default(0.5)
    .describe('targets are p^(1/T) renormalised; T < 1 sharpens the under-confident probabilities of small-data and Platt-scaled teachers'),
});
export type TeacherSpec = z.infer<typeof TeacherSpec>;

/** Input of `python -m trainer_agent_jobs.train`. */
export const TrainJobSpec = z.object({
  task: Task,
  modality: Modality,
  dataDir: z.string().min(1).max(2048).describe("the data job's output directory"),
  model: ModelChoice,
  objectives: z.array(Objective).max(16).default([]),
  seed: z.number().int().min(0).default(0),
  teacher: TeacherSpec.optional(),
  learningCurve: z.boolean().default(true).describe('scikit-learn families: refit on growing fractions for a learning-curve plot'),
});
export type TrainJobSpec = z.infer<typeof TrainJobSpec>;

/** Box models' image input: resized (stretched) to a square, scaled, normalised, CHW (serving's preprocessing.json). */
export const SquareImageInput = z.object({
  kind: z.literal('image'),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  channels: z.literal(3),
  mean: z.array(z.number()).length(3),
  std: z.array(z.number()).length(3),
  scale: z.number().positive(),
  layout: z.literal('chw'),
});

/** How a served model takes its input; the conversion job builds the ONNX graph's input from this. */
export const ModelInput = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('text'),
    tokenizer: z.string().optional().describe('tokenizer.json inside model/ (torch text models); absent: raw strings into the graph'),
    maxLength: z.number().int().positive().optional().describe('tokens per row after truncation, special tokens included'),
  }),
  z.object({
    kind: z.literal('image'),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.number().int().min(1).max(4),
    mean: z.array(z.number()),
    std: z.array(z.number()),
    scale: z.number().positive().default(1 / 255).describe('pixel value multiplier applied before mean/std'),
    layout: z.enum(['flat-hwc', 'nchw']).describe('flat-hwc: sklearn vector [N, H*W*C]; nchw: torch tensor'),
  }),
  z.object({
    kind: z.literal('tabular'),
    target: z.enum(['classification', 'regression']),
    features: z.array(z.object({
      name: z.string().min(1).describe('the model input (and served tensor) name'),
      kind: z.enum(['numeric', 'categorical']).describe('numeric: FP32, NaN when missing; categorical: BYTES, "" when missing'),
      column: z.string().describe('the column name in the source data'),
    })).min(1),
  }),
  z.object({
    kind: z.literal('grounding'),
    image: SquareImageInput,
    tokenizer: z.string().describe('tokenizer.json inside model/: the query is tokenised with it'),
    maxLength: z.number().int().positive().describe('tokens per query, special tokens included'),
  }),
  z.object({
    kind: z.literal('detection'),
    image: SquareImageInput,
    maxDetections: z.number().int().positive().describe('K: boxes per image at most (outputs are padded to K)'),
  }),
]);
export type ModelInput = z.infer<typeof ModelInput>;

/** `model/manifest.json`: what the conversion job needs to export and serve the trained model. */
export const ModelManifest = z.object({
  framework: z.enum(['sklearn', 'torch']),
  task: Task,
  modality: Modality,
  modelId: z.string(),
  family: z.string(),
  labels: z.array(z.string()).describe('class names in output order; empty for a regression model and for visual grounding (the query names what to find)'),
  input: ModelInput,
  files: z.record(z.string(), z.string()).describe('role → file name inside model/, e.g. {"model": "model.joblib"}'),
  packageVersions: z.record(z.string(), z.string()).default({}),
});
export type ModelManifest = z.infer<typeof ModelManifest>;

/** One objective compared with what was measured. */
export const ObjectiveOutcome = Objective.extend({ measured: z.number().nullable(), met: z.boolean() });

/** How a model was trained: the framework, the hyperparameters used and, for torch, where and how fast. */
export const TrainingDetails = z.object({
  framework: z.enum(['sklearn', 'torch']),
  hyperparameters: z.record(z.string(), HyperparameterValue),
  device: z.object({ kind: z.string(), name: z.string(), mixedPrecision: z.string().nullable() }).optional(),
  mode: z.string().optional().describe('torch text: frozen (head only) or finetune'),
  epochs: z.number().int().min(0).optional().describe('epochs of the kept weights (early stopping may stop sooner)'),
  steps: z.number().int().min(0).optional(),
  samplesPerSecond: z.number().min(0).optional(),
  resumedFromStep: z.number().int().min(0).optional().describe('a killed run resumed from this checkpoint step'),
  processes: z.number().int().min(2).optional().describe('processes that trained together under torchrun (DistributedDataParallel); absent: one'),
  vocabulary: z.number().int().min(0).optional().describe('word pieces kept by vocabulary pruning'),
  vocabularyTermsRemoved: z.number().int().min(0).optional().describe('secret-like terms (keys, long numbers) kept out of a TF-IDF vocabulary'),
  classWeights: z.record(z.string(), z.number()).optional(),
  pretrainedTensors: z.object({ loaded: z.number().int(), total: z.number().int() }).optional(),
  boostingRounds: z.array(z.number().int().min(0)).optional()
    .describe('gradient boosting: rounds kept per fit (early stopping on a validation part of its training rows), final fit last'),
  baseline: z.object({ model: z.string(), metrics: z.record(z.string(), z.number()) }).optional()
    .describe('a linear baseline fitted and scored on the same views, for comparison'),
  featureImportance: z.array(z.object({ feature: z.string(), importance: z.number() })).max(50).optional()
    .describe('share of the total split gain per feature (trees), most important first'),
});

/** Precision/recall/F1 of one class on the evaluation split. */
export const ClassReport = z.object({
  label: z.string(), precision: z.number(), recall: z.number(), f1: z.number(), support: z.number().int(),
});

/**
 * How a box model did beside the trivial baselines, on the same scored rows. Grounding: `accuracy` is
 * Acc@0.5 (IoU >= 0.5 counts), `iou` the mean IoU; baselines `largest-box` (the largest annotated box of
 * the image) and `centre-box` (a median-sized box at the centre). Detection: `map` is mAP@0.5:0.95,
 * `map50` mAP@0.5, `map75` mAP@0.75; baseline `centre-box` with the most frequent label.
 */
export const BoxEvaluation = z.object({
  task: z.enum(['grounding', 'detection']),
  images: z.number().int().min(0).describe('images the scored rows come from'),
  iouThreshold: z.number().min(0).max(1),
  baselines: z.record(z.string(), z.record(z.string(), z.number())),
  perClassAp: z.record(z.string(), z.number()).optional().describe('detection: AP@0.5:0.95 per class'),
});
export type BoxEvaluation = z.infer<typeof BoxEvaluation>;

/** `result.json` of the train job. */
export const TrainJobResult = z.object({
  kind: z.literal('train'),
  modelId: z.string(),
  family: z.string(),
  metrics: z.record(z.string(), z.number()).describe('metric name → point estimate (fractions)'),
  intervals: z.record(z.string(), z.object({ low: z.number(), high: z.number() })).default({})
    .describe('95% bootstrap intervals over the scored rows (the test split, or every fold\'s test rows)'),
  evaluation: z.object({
    method: z.enum(['holdout', 'cross-validation']),
    rows: z.number().int().min(0),
    folds: z.number().int().optional(),
  }),
  objectives: z.array(ObjectiveOutcome),
  objectivesMet: z.boolean(),
  parameters: z.number().int().min(0),
  modelBytes: z.number().int().min(0),
  trainRows: z.number().int().min(0),
  pseudoLabelledRows: z.number().int().min(0).default(0),
  durationSeconds: z.number().min(0),
  seed: z.number().int(),
  dataDigest: z.string().optional(),
  perClass: z.array(ClassReport),
  confusionMatrix: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) }),
  plots: z.array(z.string()),
  modelDir: z.string(),
  packageVersions: z.record(z.string(), z.string()),
  training: TrainingDetails.optional(),
  boxes: BoxEvaluation.optional().describe('box tasks: the trivial baselines scored on the same rows, per-class AP'),
});
export type TrainJobResult = z.infer<typeof TrainJobResult>;

/** What a failed job writes to result.json / the termination log. */
export const JobFailure = z.object({
  kind: z.literal('error'),
  job: z.string(),
  error: z.string().max(2000),
});
export type JobFailure = z.infer<typeof JobFailure>;
