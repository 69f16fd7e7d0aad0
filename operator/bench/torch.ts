/**
 * The deep-learning part of `npm run bench`: fine-tune all-MiniLM-L6-v2 (the real weights) on review
 * sentences from the npm package `sentiment` with the train job on this machine's CPU, convert it, then
 * push the same batches of sentences through raw onnxruntime-node (tokenised beforehand) and through
 * the local KServe v2 server (JSON over HTTP, tokenised by the server): the served rows/s over the raw
 * rows/s is what serving costs on top of the model (goal: at least 0.8).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConvertJobResult } from '../../agents/jobs/convert-spec.js';
import { TrainJobResult } from '../../agents/jobs/train-spec.js';
import { loadRepository } from '../local/serve/repository.js';
import { startServer } from '../local/serve/server.js';
import { TextTokenizer } from '../local/serve/tokenizer.js';
import { runJobModule, REPO_ROOT } from '../local/serve/python-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODEL = 'reviews';
/** Sentences per request and per raw run: the same batches both ways. */
export const BATCH = 32;

/** What the torch bench measured. */
export interface TorchBench {
  training: { rows: number; epochs: number; steps: number; samplesPerSecond: number; device: string; accuracy: number; seconds: number };
  conversion: { exportSeconds: number; precision: string; modelBytes: number; parity: ConvertJobResult['parity'] };
  rawRowsPerSecond: number;
  servedRowsPerSecond: number;
  servedToRaw: number;
}

function reviews(limit: number): string[] {
  const rows: string[] = [];
  for (const source of ['amazon', 'imdb', 'yelp']) {
    const data = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'sentiment', 'test', 'fixtures', `${source}.json`), 'utf8')) as { text: string; class: number | null }[];
    rows.push(...data.filter((r) => r.class === 0 || r.class === 1).map((r) => JSON.stringify({ text: r.text.trim(), label: r.class ? 'positive' : 'negative' })));
  }
  return rows.slice(0, limit);
}

/** Train and convert once per version of the job code (cached under ~/.cache/trainer-agent/bench). */
async function prepare(python: string, fresh: boolean, log: (l: string) => void): Promise<{ dir: string; train: TrainJobResult; convert: ConvertJobResult }> {
  const jobs = join(here, '..', '..', 'images', 'jobs');
  const hash = createHash('sha256').update(readFileSync(join(jobs, 'requirements-torch.txt'))).update('bench-torch-v1');
  for (const sub of ['train', 'convert']) {
    const folder = join(jobs, 'trainer_agent_jobs', sub);
    for (const file of readdirSync(folder).filter((n) => n.endsWith('.py') && !n.startsWith('test_')).sort()) hash.update(file).update(readFileSync(join(folder, file)));
  }
  const dir = join(process.env.TRAINER_AGENT_CACHE ?? join(homedir(), '.cache', 'trainer-agent'), 'bench', `torch-${hash.digest('hex').slice(0, 12)}`);
  const trainPath = join(dir, 'train', 'result.json');
  const convertPath = join(dir, 'out', 'result.json');
  if (!fresh && existsSync(convertPath) && existsSync(trainPath)) {
    log(`Reused the fine-tuned and converted model in ${dir}`);
    return { dir, train: TrainJobResult.parse(JSON.parse(readFileSync(trainPath, 'utf8'))), convert: ConvertJobResult.parse(JSON.parse(readFileSync(convertPath, 'utf8'))) };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'reviews.jsonl'), `${reviews(960).join('\n')}\n`);
  log('Fine-tuning all-MiniLM-L6-v2 for one epoch on 960 review sentences (CPU)');
  await runJobModule(python, ['trainer_agent_jobs.convert.fixtures', 'torch-text', '--out', dir, '--rows', join(dir, 'reviews.jsonl')], 3_600_000);
  const spec = { modelDir: join(dir, 'train'), dataDir: join(dir, 'data'), modelName: MODEL, precisions: [],
    benchmark: { secondsPerPoint: 1, batchSizes: [1, 8, 32], concurrencies: [1, 2] } };
  writeFileSync(join(dir, 'convert-spec.json'), JSON.stringify(spec));
  log('Exporting to ONNX, checking parity with torch, benchmarking');
  await runJobModule(python, ['trainer_agent_jobs.convert', '--spec', join(dir, 'convert-spec.json'), '--out', join(dir, 'out')], 1_800_000);
  return { dir, train: TrainJobResult.parse(JSON.parse(readFileSync(trainPath, 'utf8'))), convert: ConvertJobResult.parse(JSON.parse(readFileSync(convertPath, 'utf8'))) };
}

/** Rows per second of `run` over `seconds`, after one warm-up call. */
async function rowsPerSecond(batches: string[][], seconds: number, run: (batch: string[]) => Promise<unknown>): Promise<number> {
  await run(batches[0]!);
  let rows = 0;
  const started = performance.now();
  for (let i = 0; performance.now() - started < seconds * 1000; i += 1) {
    const batch = batches[i % batches.length]!;
    await run(batch);
    rows += batch.length;
  }
  return rows / ((performance.now() - started) / 1000);
}

/** Train (or reuse), convert, and compare raw onnxruntime with the served path on the same batches. */
export async function benchTorch(python: string, options: { fresh: boolean; seconds: number; log: (l: string) => void }): Promise<TorchBench> {
  const { dir, train, convert } = await prepare(python, options.fresh, options.log);
  const texts = readFileSync(join(dir, 'reviews.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  const batches = Array.from({ length: Math.floor(texts.length / BATCH) }, (_, i) => texts.slice(i * BATCH, (i + 1) * BATCH));
  const repositoryDir = join(dir, 'out', 'model-repository');
  const model = await loadRepository(repositoryDir, MODEL);

  // Raw: onnxruntime-node on tensors tokenised beforehand (what the model alone sustains, one thread like the server).
  const tokenizer = await TextTokenizer.load(model.tokenizer!.path, model.tokenizer!.maxLength);
  const ort = (await import('onnxruntime-node')) as unknown as typeof import('onnxruntime-node') & { default?: typeof import('onnxruntime-node') };
  const runtime = ort.default ?? ort;
  const session = await runtime.InferenceSession.create(model.onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
  const tokenised = new Map(batches.map((b) => [b, tokenizer.encodeBatch(b)]));
  options.log(`Raw onnxruntime: ${BATCH}-row batches for ${options.seconds} s`);
  const raw = await rowsPerSecond(batches, options.seconds, async (b) => {
    const t = tokenised.get(b)!;
    await session.run({ input_ids: new runtime.Tensor('int64', t.inputIds, t.dims), attention_mask: new runtime.Tensor('int64', t.attentionMask, t.dims) });
  });
  await session.release();

  // Served: the same batches as KServe v2 JSON requests to the local server (tokenising included).
  const server = await startServer({ repositoryDir, model: MODEL, instances: 1 });
  try {
    options.log(`Served over HTTP: the same batches for ${options.seconds} s`);
    const url = `${server.url}/v2/models/${MODEL}/infer`;
    const served = await rowsPerSecond(batches, options.seconds, async (b) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [b.length, 1], data: b }] }) });
      if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    });
    const details = train.training!;
    return {
      training: { rows: train.trainRows, epochs: details.epochs ?? 0, steps: details.steps ?? 0, samplesPerSecond: details.samplesPerSecond ?? 0,
        device: details.device?.name ?? 'cpu', accuracy: train.metrics.accuracy ?? 0, seconds: train.durationSeconds },
      conversion: { exportSeconds: convert.timings?.exportSeconds ?? 0, precision: convert.precision, modelBytes: convert.modelBytes, parity: convert.parity },
      rawRowsPerSecond: raw, servedRowsPerSecond: served, servedToRaw: served / raw,
    };
  } finally {
    await server.close();
  }
}
