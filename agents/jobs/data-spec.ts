import { z } from 'zod';
import { Modality, Task } from '../task/task-spec.js';

/** Where a data set comes from and how to read it (DESIGN.md, spec.data[]). */
export const DataSource = z.object({
  name: z.string().min(1).max(63),
  uri: z.string().min(1).max(2048).describe('file:///abs/path or file:relative/path (relative to the working directory)'),
  format: z.enum(['csv', 'jsonl', 'imagefolder', 'parquet', 'coco']).describe('parquet: tables only (tabular tasks); coco: COCO-style JSON with boxes (detection, grounding); jsonl lines {image, query, box} for grounding'),
  role: z.enum(['train', 'eval', 'test', 'unlabelled']).default('train'),
  textColumn: z.string().min(1).max(128).default('text'),
  labelColumn: z.string().min(1).max(128).default('label'),
});
export type DataSource = z.infer<typeof DataSource>;

/** Unicode/whitespace normalisation and removal of rows with no content or no label. */
export const CleanOperation = z.object({
  op: z.literal('clean'),
  lowercase: z.boolean().default(false),
  maxChars: z.number().int().positive().max(10_000_000).optional(),
});

/** Exact and near-duplicate removal before splitting, and across the given splits (leakage). */
export const DedupeOperation = z.object({
  op: z.literal('dedupe'),
  near: z.boolean().default(true),
  nearThreshold: z.number().min(0.5).max(1).default(0.95),
});

/**
 * Cross-validated confident learning (cleanlab) on each view's training rows. `correct` relabels a row only
 * with strong agreement (every repeated cross-validation suggests the same class, with this confidence and
 * margin over the given label) and flags weaker suspicions (kept with their label, listed for review).
 */
export const LabelErrorsOperation = z.object({
  op: z.literal('label-errors'),
  action: z.enum(['correct', 'flag', 'drop']).default('correct'),
  folds: z.number().int().min(2).max(20).default(5),
  minCorrectionConfidence: z.number().min(0).max(1).default(0.9),
  minMargin: z.number().min(0).max(1).default(0.5).describe('p(suggested) − p(given) needed to correct'),
});

/** Label the unlabelled rows with a teacher (a trained model dir, or one fitted on the training split). */
export const AutoLabelOperation = z.object({
  op: z.literal('auto-label'),
  teacherModelDir: z.string().min(1).max(2048).optional(),
  confidenceThreshold: z.number().min(0).max(1).default(0.9),
});

/** Oversample minority classes with light, label-preserving perturbations. */
export const AugmentOperation = z.object({
  op: z.literal('augment'),
  targetMinorityRatio: z.number().min(0).max(1).default(0.5),
  maxFactor: z.number().min(1).max(10).default(2),
});

/** Stratified subsample of the training split to at most `maxRows`. */
export const ReduceOperation = z.object({
  op: z.literal('reduce'),
  maxRows: z.number().int().positive(),
});

/** One data operation the Data agent chose. `clean` and `dedupe` run before the split, the rest on train. */
export const DataOperation = z.discriminatedUnion('op', [
  CleanOperation, DedupeOperation, LabelErrorsOperation, AutoLabelOperation, AugmentOperation, ReduceOperation,
]);
export type DataOperation = z.infer<typeof DataOperation>;

/**
 * How the model will be judged, fixed by the data job before anything learns: a locked test split (a
 * given test source, or a stratified split of at least `minHoldoutRows`), otherwise k-fold
 * cross-validation over every labelled row with each fold's training rows prepared on their own.
 */
export const EvaluationSettings = z.object({
  minHoldoutRows: z.number().int().min(1).max(1_000_000).default(300),
  folds: z.number().int().min(2).max(20).default(5),
});

/** Input of `python -m trainer_agent_jobs.data`. */
export const DataJobSpec = z.object({
  task: Task,
  modality: Modality,
  sources: z.array(DataSource).min(1).max(64),
  operations: z.array(DataOperation).max(16).default([]),
  testFraction: z.number().gt(0).lt(1).default(0.2),
  evaluation: EvaluationSettings.default(EvaluationSettings.parse({})),
  seed: z.number().int().min(0).default(0),
});
export type DataJobSpec = z.infer<typeof DataJobSpec>;

/** Summary statistics of a list of numbers (text lengths in characters, image sides in pixels). */
export const Distribution = z.object({
  min: z.number(), p50: z.number(), p95: z.number(), max: z.number(), mean: z.number(),
});

/** A short, redacted example of a label issue (never a whole training row). */
export const LabelIssueExample = z.object({
  excerpt: z.string().max(200),
  given: z.string(),
  suggested: z.string(),
  confidence: z.number(),
  action: z.enum(['corrected', 'flagged', 'dropped']),
});

/** One column of a table as the data job found it: a feature the model takes, or a column left out and why. */
export const TableColumn = z.object({
  name: z.string().describe('the feature (served input) name: the column name made safe for tensor names'),
  column: z.string().describe('the column name in the source'),
  kind: z.enum(['numeric', 'categorical']),
  missingRate: z.number().min(0).max(1),
  distinct: z.number().int().min(0),
  stats: z.record(z.string(), z.unknown()).optional().describe('numeric: min, max, mean; categorical: the most frequent values'),
  unparsed: z.number().int().min(0).optional().describe('cells of a numeric column that were not numbers (read as missing)'),
  excluded: z.enum(['identifier', 'free-text', 'constant', 'empty', 'leakage']).optional(),
  reason: z.string().optional(),
  targetScore: z.number().optional().describe('this column alone against the label, cross-validated: balanced accuracy (classes) or R² (regression)'),
});
export type TableColumn = z.infer<typeof TableColumn>;

/** The table part of a data profile (tabular tasks). */
export const TableProfile = z.object({
  label: z.string().describe('the label column'),
  target: z.enum(['classification', 'regression']),
  targetDistribution: Distribution.optional().describe('regression: the target over the labelled rows'),
  features: z.object({ numeric: z.number().int().min(0), categorical: z.number().int().min(0) }),
  rowsWithMissingValues: z.number().int().min(0),
  columns: z.array(TableColumn),
  excluded: z.array(z.object({ column: z.string(), excluded: z.string(), reason: z.string() })),
});
export type TableProfile = z.infer<typeof TableProfile>;
/** One reason annotations could not be used, with how many and a few examples (file and line or annotation id). */
export const BoxProblem = z.object({
  reason: z.string(),
  description: z.string(),
  count: z.number().int().min(0),
  examples: z.array(z.string()).max(5),
});

/** What the data job measured of box data (visual grounding, object detection). */
export const BoxProfile = z.object({
  task: z.enum(['grounding', 'detection']),
  images: z.number().int().min(0),
  annotations: z.number().int().min(0).describe('boxes kept (grounding: one per query)'),
  emptyImages: z.number().int().min(0).describe('images without a box (detection negatives)'),
  perImage: Distribution.describe('boxes (grounding: queries) per image'),
  classesPerImage: Distribution.describe('distinct categories (grounding: queries) per image'),
  widthPx: Distribution,
  heightPx: Distribution,
  relativeArea: Distribution.describe('box area / image area'),
  aspectRatio: Distribution.describe('box width / height'),
  clipped: z.number().int().min(0).describe('boxes that reached past the image edge, clipped to it'),
  dropped: z.number().int().min(0).describe('annotations left out (reasons in problems)'),
  problems: z.array(BoxProblem),
  queries: z.object({ distinct: z.number().int().min(0), top: z.array(z.object({ query: z.string(), count: z.number().int() })).max(10) }).optional(),
});
export type BoxProfile = z.infer<typeof BoxProfile>;

/** What the data job measured: the Data agent's perception. */
export const DataProfile = z.object({
  rows: z.object({
    loaded: z.number().int().min(0),
    train: z.number().int().min(0),
    test: z.number().int().min(0),
    unlabelled: z.number().int().min(0),
  }),
  classes: z.array(z.object({ label: z.string(), train: z.number().int(), test: z.number().int() })),
  minorityRatio: z.number().describe('smallest class count / largest class count in train'),
  textLengths: Distribution.optional(),
  imageSizes: z.record(z.string(), z.number().int()).optional().describe('"WxHxC" → count'),
  duplicates: z.object({
    exact: z.number().int().min(0),
    near: z.number().int().min(0),
    removed: z.number().int().min(0),
  }),
  leakage: z.object({ exact: z.number().int().min(0), near: z.number().int().min(0) }),
  evaluation: z.object({
    method: z.enum(['holdout', 'cross-validation']),
    rows: z.number().int().min(0).describe('labelled rows the evaluation scores, each once'),
    folds: z.number().int().min(2).optional(),
    reason: z.string(),
  }),
  labelIssues: z.object({
    found: z.number().int().min(0),
    corrected: z.number().int().min(0),
    flagged: z.number().int().min(0),
    dropped: z.number().int().min(0),
    examples: z.array(LabelIssueExample).max(5),
  }).optional(),
  autoLabelled: z.object({ candidates: z.number().int(), accepted: z.number().int(), threshold: z.number() }).optional(),
  augmented: z.number().int().min(0).optional(),
  reducedFrom: z.number().int().min(0).optional(),
  table: TableProfile.optional().describe('tables: column types, missing values, columns left out (identifiers, leakage)'),
  invalidRows: z.number().int().min(0),
  boxes: BoxProfile.optional().describe('box tasks (visual grounding, object detection)'),
});
export type DataProfile = z.infer<typeof DataProfile>;

/** `result.json` of the data job. */
export const DataJobResult = z.object({
  kind: z.literal('data'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  outDir: z.string(),
  files: z.record(z.string(), z.string()),
  profile: DataProfile,
  operationsApplied: z.array(z.string()),
  warnings: z.array(z.string()),
  durationSeconds: z.number().min(0),
  seed: z.number().int(),
  packageVersions: z.record(z.string(), z.string()),
});
export type DataJobResult = z.infer<typeof DataJobResult>;
