import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TabularPreprocessing } from './tabular-protocol.js';

/** Image preprocessing saved with the model (see images/jobs/trainer_agent_jobs/convert/image_preprocessing.py). */
export const ImagePreprocessing = z.object({
  kind: z.literal('image'),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  mean: z.array(z.number()).min(1),
  std: z.array(z.number().refine((x) => x !== 0, 'std must not be 0')).min(1),
  scale: z.number().positive().default(1 / 255),
  layout: z.enum(['hwc', 'chw', 'flat-hwc', 'nchw']).default('hwc'),
});
export type ImagePreprocessing = z.infer<typeof ImagePreprocessing>;

/** Tokenised text (torch models): the tokenizer.json beside preprocessing.json and the token budget. */
export const TextTokenization = z.object({
  tokenizer: z.literal('tokenizer.json'),
  maxLength: z.number().int().positive().max(8192),
});

const PreprocessingFile = z.looseObject({
  kind: z.enum(['text', 'image', 'tabular', 'grounding', 'detection']),
  onnxModel: z.string().min(1).optional(),
  tokenizer: z.string().optional(),
});

/** Box models (convert/box_triton.py): their square image input, the query's tokenizer, K, and whose config.pbtxt batches. */
const BoxPreprocessing = z.looseObject({
  image: ImagePreprocessing,
  maxLength: z.number().int().positive().max(8192).optional(),
  maxDetections: z.number().int().positive().max(10_000).optional(),
  batchingFrom: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/),
});

/** Batching settings read from a config.pbtxt. */
export interface BatchingConfig {
  maxBatchSize: number;
  queueDelayUs: number;
  instances: number;
}

/** Everything the local server needs about one model of a Triton repository. */
export interface RepositoryModel {
  name: string;
  kind: 'text' | 'image' | 'tabular' | 'grounding' | 'detection';
  onnxPath: string;
  labels: string[];
  image?: ImagePreprocessing;
  /** Torch text models: the tokenizer file (absolute path) and the token budget per row. */
  tokenizer?: { path: string; maxLength: number };
  /** Table models: one named input per feature, and whether they answer classes or a number. */
  tabular?: TabularPreprocessing;
  /** Box models: the square image preprocessing, the query's tokenizer (grounding), K (detection). */
  boxes?: { image: ImagePreprocessing; tokenizer?: { path: string; maxLength: number }; maxDetections?: number };
  batching: BatchingConfig;
}

/** Read max_batch_size, the dynamic batcher's queue delay and the instance count from config.pbtxt text. */
export function readBatchingConfig(pbtxt: string): BatchingConfig {
  const num = (re: RegExp, fallback: number): number => {
    const m = re.exec(pbtxt);
    return m?.[1] !== undefined ? Number(m[1]) : fallback;
  };
  const maxBatchSize = num(/max_batch_size\s*:\s*(\d+)/, 0);
  const dynamic = /dynamic_batching\s*\{/.test(pbtxt);
  return {
    maxBatchSize: Math.max(1, maxBatchSize),
    queueDelayUs: dynamic ? num(/max_queue_delay_microseconds\s*:\s*(\d+)/, 0) : 0,
    instances: Math.max(1, num(/instance_group\s*\[\s*\{[^}]*count\s*:\s*(\d+)/, 1)),
  };
}

/**
 * Load `<repositoryDir>/<model>/` as written by the conversion job: preprocessing.json, labels.txt (and
 * tokenizer.json for torch text models) and, from the ONNX member (the model itself for scikit-learn
 * text and tables, `<model>_onnx` for ensembles), config.pbtxt and 1/model.onnx.
 */
export async function loadRepository(repositoryDir: string, model: string): Promise<RepositoryModel> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(model)) throw new Error(`invalid model name ${JSON.stringify(model)}`);
  const root = resolve(repositoryDir);
  const dir = join(root, model);
  const pre = PreprocessingFile.parse(JSON.parse(await readFile(join(dir, 'preprocessing.json'), 'utf8')));
  const onnxName = pre.onnxModel ?? model;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(onnxName)) throw new Error(`invalid onnxModel ${JSON.stringify(onnxName)}`);
  const labels = (await readFile(join(dir, 'labels.txt'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (pre.kind === 'grounding' || pre.kind === 'detection') {
    const box = BoxPreprocessing.parse(pre);
    return {
      name: model, kind: pre.kind, onnxPath: join(root, onnxName, '1', 'model.onnx'), labels,
      boxes: {
        image: box.image,
        ...(pre.kind === 'grounding' ? { tokenizer: { path: join(dir, 'tokenizer.json'), maxLength: box.maxLength ?? 16 } } : {}),
        ...(box.maxDetections !== undefined ? { maxDetections: box.maxDetections } : {}),
      },
      batching: readBatchingConfig(await readFile(join(root, box.batchingFrom, 'config.pbtxt'), 'utf8')),
    };
  }
  const batching = readBatchingConfig(await readFile(join(root, onnxName, 'config.pbtxt'), 'utf8'));
  return {
    name: model,
    kind: pre.kind,
    onnxPath: join(root, onnxName, '1', 'model.onnx'),
    labels,
    ...(pre.kind === 'image' ? { image: ImagePreprocessing.parse(pre) } : {}),
    ...(pre.kind === 'text' && pre.tokenizer !== undefined ? { tokenizer: { path: join(dir, 'tokenizer.json'), maxLength: TextTokenization.parse(pre).maxLength } } : {}),
    ...(pre.kind === 'tabular' ? { tabular: TabularPreprocessing.parse(pre) } : {}),
    batching,
  };
}
