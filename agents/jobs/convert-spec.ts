import { z } from 'zod';
import { BoxExample } from '../server/api-doc-boxes.js';
import { ServingProfile } from '../server/estimate.js';

/** Limits of the parity check between the trained model and its ONNX export. */
export const ConvertParitySpec = z.object({
  maxAbsProbDiff: z.number().min(0).default(1e-4).describe('largest allowed |p_trained − p_onnx| over held-out rows'),
  minLabelAgreement: z.number().min(0).max(1).default(0.999),
  maxRows: z.number().int().min(1).max(100_000).default(500),
});

/** Serving configuration written into config.pbtxt. */
export const ConvertTritonSpec = z.object({
  instances: z.number().int().min(1).max(16).default(1),
  maxBatchSize: z.number().int().min(1).max(1024).default(32),
  queueDelayUs: z.number().int().min(0).max(1_000_000).default(500),
  accelerator: z.enum(['cpu', 'gpu']).default('cpu'),
});

/** Bounds of the onnxruntime benchmark sweep. */
export const ConvertBenchmarkSpec = z.object({
  batchSizes: z.array(z.number().int().min(1).max(1024)).min(1).max(16).default([1, 2, 4, 8, 16, 32]),
  concurrencies: z.array(z.number().int().min(1).max(256)).min(1).max(16).default([1, 2, 4, 8]),
  secondsPerPoint: z.number().positive().max(60).default(1),
  maxRequestsPerPoint: z.number().int().min(1).max(1_000_000).default(20_000),
  intraOpThreads: z.number().int().min(0).max(64).default(1),
});

/** Spec of the conversion + benchmark job (`python -m trainer_agent_jobs.convert`). */
export const ConvertJobSpec = z.object({
  modelDir: z.string().min(1).describe('train job output (or its model/ folder) holding model/manifest.json'),
  modelName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/).describe('name in the Triton repository and the endpoint'),
  dataDir: z.string().min(1).optional().describe('prepared data; test.jsonl holds the held-out rows for parity and accuracy'),
  precisions: z.array(z.enum(['int8', 'fp16'])).max(2).default(['int8']).describe('reduced precisions to try behind the accuracy gate'),
  maxAccuracyDrop: z.number().min(0).max(1).default(0.01),
  tensorrt: z.boolean().default(true).describe('use TensorRT when a GPU and TensorRT are present'),
  parity: ConvertParitySpec.default(ConvertParitySpec.parse({})),
  triton: ConvertTritonSpec.default(ConvertTritonSpec.parse({})),
  benchmark: ConvertBenchmarkSpec.default(ConvertBenchmarkSpec.parse({})),
  seed: z.number().int().min(0).default(0),
});
export type ConvertJobSpec = z.infer<typeof ConvertJobSpec>;

/** Parity between the trained model and the export on the same rows. */
export const ParityResult = z.object({
  rows: z.number().int().min(0),
  maxAbsProbDiff: z.number().min(0).describe('classifiers: largest |p_trained − p_onnx|; 0 for a regression model'),
  labelAgreement: z.number().min(0).max(1).describe('classifiers: same label; regression: predictions within the tolerance'),
  passed: z.boolean(),
  prediction: z.object({
    maxAbsDiff: z.number().min(0),
    maxRelDiff: z.number().min(0).describe('|Δ| / max(1, |trained prediction|)'),
    tolerance: z.number().min(0),
  }).optional().describe('regression models: how far the served numbers are from the trained model\'s'),
});

/** One reduced precision tried, and why it was kept or rejected. */
export const PrecisionVariant = z.object({
  precision: z.enum(['int8', 'fp16']),
  accepted: z.boolean(),
  reason: z.string(),
  accuracy: z.number().nullable(),
  sizeBytes: z.number().int().nullable(),
});

/** One named input of a served table model. */
export const TabularFeature = z.object({
  name: z.string().min(1).describe('input name (the column name made tensor-safe)'),
  datatype: z.enum(['FP32', 'BYTES']),
  kind: z.enum(['numeric', 'categorical']),
  column: z.string().describe('the column in the source data'),
});
export type TabularFeature = z.infer<typeof TabularFeature>;

/** How a table model is served: one [N, 1] input per feature; label and probabilities, or prediction. */
export const TabularServing = z.object({
  task: z.enum(['classification', 'regression']),
  features: z.array(TabularFeature).min(1),
  example: z.object({
    features: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
    truth: z.string().nullable().optional(),
    label: z.string().optional(),
    probabilities: z.array(z.number()).optional(),
    prediction: z.number().optional(),
  }).describe('a held-out row of the data and the trained model\'s answer for it'),
});
export type TabularServing = z.infer<typeof TabularServing>;

/** `result.json` of a successful conversion. */
export const ConvertJobResult = z.object({
  kind: z.literal('convert'),
  ok: z.literal(true),
  modelName: z.string(),
  framework: z.enum(['sklearn', 'torch']),
  task: z.string(),
  modality: z.string(),
  inputName: z.enum(['text', 'pixels', 'features', 'pixel_values']).describe('the ONNX graph input; clients send `text` or `image` (grounding: `image` and `query`); features: one input per table column (see tabular)'),
  labels: z.array(z.string()).describe('class names in probability-column order; empty for a regression model and for visual grounding'),
  rows: z.object({ source: z.string(), count: z.number().int().min(0) }),
  parity: ParityResult,
  precision: z.enum(['fp32', 'int8', 'fp16']),
  runtime: z.enum(['onnxruntime', 'onnxruntime+tensorrt']),
  tensorrt: z.object({ available: z.boolean(), note: z.string() }),
  accuracy: z.object({
    onnx: z.number().nullable(),
    reference: z.number().nullable(),
    measure: z.string().optional().describe('what accuracy means here when not label accuracy: Acc@0.5 (grounding), mAP@0.5 (detection)'),
  }),
  variants: z.array(PrecisionVariant),
  format: z.literal('onnx'),
  modelBytes: z.number().int().min(0),
  repositoryDir: z.string(),
  modelDir: z.string(),
  onnxPath: z.string(),
  repositoryFiles: z.array(z.string()),
  referencePredictions: z.string().describe('jsonl: the trained model on held-out rows (training-time predictions)'),
  triton: ConvertTritonSpec,
  benchmark: z.looseObject({ saturationQps: z.number(), peakRssBytes: z.number() }),
  profile: ServingProfile.describe('serving profile for estimateReplicas, from the benchmark'),
  notes: z.array(z.string()),
  example: BoxExample.optional().describe('box models: a held-out image (and query) with the converted model\'s answer, for the API document'),
  maxDetections: z.number().int().positive().optional().describe('detection: K, boxes per image in the outputs'),
  timings: z.object({
    exportSeconds: z.number().min(0).describe('loading the trained model and exporting it to ONNX'),
    benchmarkSeconds: z.number().min(0).optional(),
  }).optional(),
  tabular: TabularServing.optional().describe('table models: the inputs clients send, and a real held-out row with the trained model\'s answer'),
  durationSeconds: z.number().min(0),
});
export type ConvertJobResult = z.infer<typeof ConvertJobResult>;
