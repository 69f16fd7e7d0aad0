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

/** Hierarchical mode: pseudo-label `unlabelled.jsonl` with a teacher model, then train on the expanded set. */
export const TeacherSpec = z.object({
  modelDir: z.string().min(1).max(2048),
  confidenceThreshold: z.number().min(0).max(1).default(0.9),
  maxRows: z.number().int().positive().optional(),
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
  crossValidationBelowRows: z.number().int().min(0).default(300)
    .describe('when test.jsonl has this many rows or fewer, evaluate with stratified k-fold instead'),
  folds: z.number().int().min(2).max(20).default(5),
  learningCurve: z.boolean().default(true),
});
export type TrainJobSpec = z.infer<typeof TrainJobSpec>;

/** How a served model takes its input; the conversion job builds the ONNX graph's input from this. */
export const ModelInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text') }),
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
]);
export type ModelInput = z.infer<typeof ModelInput>;

/** `model/manifest.json`: what the conversion job needs to export and serve the trained model. */
export const ModelManifest = z.object({
  framework: z.enum(['sklearn', 'torch']),
  task: Task,
  modality: Modality,
  modelId: z.string(),
  family: z.string(),
  labels: z.array(z.string()).min(1),
  input: ModelInput,
  files: z.record(z.string(), z.string()).describe('role → file name inside model/, e.g. {"model": "model.joblib"}'),
  packageVersions: z.record(z.string(), z.string()).default({}),
});
export type ModelManifest = z.infer<typeof ModelManifest>;

/** One objective compared with what was measured. */
export const ObjectiveOutcome = Objective.extend({ measured: z.number().nullable(), met: z.boolean() });

/** Precision/recall/F1 of one class on the evaluation split. */
export const ClassReport = z.object({
  label: z.string(), precision: z.number(), recall: z.number(), f1: z.number(), support: z.number().int(),
});

/** `result.json` of the train job. */
export const TrainJobResult = z.object({
  kind: z.literal('train'),
  modelId: z.string(),
  family: z.string(),
  metrics: z.record(z.string(), z.number()).describe('metric name → point estimate (fractions)'),
  intervals: z.record(z.string(), z.object({ low: z.number(), high: z.number() })).default({})
    .describe('95% intervals (bootstrap on a holdout, t-interval over folds in cross-validation)'),
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
});
export type TrainJobResult = z.infer<typeof TrainJobResult>;

/** What a failed job writes to result.json / the termination log. */
export const JobFailure = z.object({
  kind: z.literal('error'),
  job: z.string(),
  error: z.string().max(2000),
});
export type JobFailure = z.infer<typeof JobFailure>;
