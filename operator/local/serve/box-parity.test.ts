import { jest } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runJobModule, torchPython } from './python-fixture.js';
import { startServer } from './server.js';

// Box models end to end: generated PNG frames (examples/product-grounding/generate-data.py), the real data
// job, a tiny OWL-ViT / FCOS built from config and trained for a step or two by the real train job, the
// real conversion job (FP32), then the local KServe v2 server decodes, resizes and normalises the same PNG
// bytes in Node, tokenises the query with the model's tokenizer.json, runs the ONNX graph, and must answer
// what the trained model answered (reference-predictions.jsonl).
jest.setTimeout(40 * 60 * 1000);

interface Reference { image: string; query?: string; boxes: number[] | number[][]; scores: number | number[]; labels?: string[] }

async function pipeline(python: string, dir: string, frames: string, task: 'visual-grounding' | 'object-detection', h: Record<string, unknown>): Promise<{ repository: string; reference: Reference[] }> {
  const grounding = task === 'visual-grounding';
  const root = join(frames, grounding ? 'grounding' : 'detection');
  const [ext, format] = grounding ? ['jsonl', 'jsonl'] : ['json', 'coco'];
  await mkdir(dir, { recursive: true });
  const job = async (kind: string, spec: Record<string, unknown>) => {
    await writeFile(join(dir, `${kind}-spec.json`), JSON.stringify(spec));
    await runJobModule(python, [`trainer_agent_jobs.${kind}`, '--spec', join(dir, `${kind}-spec.json`), '--out', join(dir, kind)], 1_800_000);
  };
  const modality = grounding ? 'multimodal' : 'image';
  await job('data', { task, modality, sources: [{ name: 'train', uri: `file://${join(root, `train.${ext}`)}`, format },
    { name: 'test', uri: `file://${join(root, `test.${ext}`)}`, format, role: 'test' }] });
  await job('train', { task, modality, dataDir: join(dir, 'data'), model: { id: 'tiny', family: grounding ? 'torch-grounding-owlvit' : 'torch-detection-fcos', hyperparameters: h } });
  await job('convert', { modelDir: join(dir, 'train'), dataDir: join(dir, 'data'), modelName: 'frames', precisions: [],
    benchmark: { secondsPerPoint: 0.1, batchSizes: [1], concurrencies: [1], maxRequestsPerPoint: 20 } });
  const reference = (await readFile(join(dir, 'convert', 'reference-predictions.jsonl'), 'utf8')).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Reference);
  return { repository: join(dir, 'convert', 'model-repository'), reference };
}

async function infer(url: string, inputs: { name: string; data: string[] }[]): Promise<Record<string, { shape: number[]; data: (number | string)[] }>> {
  const response = await fetch(`${url}/v2/models/frames/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: inputs.map((i) => ({ name: i.name, datatype: 'BYTES', shape: [i.data.length, 1], data: i.data })) }),
  });
  expect(response.status).toBe(200);
  const body = await response.json() as { outputs: { name: string; shape: number[]; data: (number | string)[] }[] };
  return Object.fromEntries(body.outputs.map((o) => [o.name, o]));
}

describe('box models served by the local KServe v2 server', () => {
  let python = '';
  let dir = '';
  let frames = '';
  beforeAll(async () => {
    python = await torchPython();
    dir = await mkdtemp(join(tmpdir(), 'boxes-'));
    frames = join(dir, 'frames');
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) => execFile(python, [join(REPO_ROOT, 'examples', 'product-grounding', 'generate-data.py'), '--out', frames,
      '--frames', '12', '--test-frames', '6', '--size', '120x90', '--format', 'png'], (error) => (error ? reject(error) : resolve())));
  }, 60 * 60 * 1000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('grounding: the served box and score of each (image, query) are the trained model\'s', async () => {
    const work = join(dir, 'grounding');
    const { repository, reference } = await pipeline(python, work, frames, 'visual-grounding',
      { imageSize: 64, patchSize: 16, width: 32, layers: 1, textWidth: 32, textLayers: 1, projectionDim: 32, epochs: 1, batchSize: 8, device: 'cpu' });
    const server = await startServer({ repositoryDir: repository, model: 'frames' });
    try {
      const images = await Promise.all(reference.map(async (r) => (await readFile(r.image)).toString('base64')));
      const out = await infer(server.url, [{ name: 'image', data: images }, { name: 'query', data: reference.map((r) => r.query!) }]);
      expect(out.boxes!.shape).toEqual([reference.length, 4]);
      expect(out.scores!.shape).toEqual([reference.length, 1]);
      reference.forEach((r, i) => {
        const served = (out.boxes!.data as number[]).slice(i * 4, i * 4 + 4);
        (r.boxes as number[]).forEach((v, k) => expect(Math.abs(v - served[k]!)).toBeLessThan(0.05));
        expect(Math.abs((r.scores as number) - (out.scores!.data[i] as number))).toBeLessThan(1e-4);
      });
    } finally {
      await server.close();
    }
  });

  it('detection: the served boxes, labels, scores and count of each image are the trained model\'s', async () => {
    const work = join(dir, 'detection');
    const { repository, reference } = await pipeline(python, work, frames, 'object-detection',
      { imageSize: 64, width: 64, headConvs: 1, maxDetections: 4, epochs: 1, batchSize: 8, device: 'cpu' });
    const server = await startServer({ repositoryDir: repository, model: 'frames' });
    try {
      const images = await Promise.all(reference.map(async (r) => (await readFile(r.image)).toString('base64')));
      const out = await infer(server.url, [{ name: 'image', data: images }]);
      expect(out.boxes!.shape).toEqual([reference.length, 4, 4]);
      reference.forEach((r, i) => {
        const n = (r.scores as number[]).length;
        expect(out.count!.data[i]).toBe(n);
        expect((out.labels!.data as string[]).slice(i * 4, i * 4 + n)).toEqual(r.labels);
        (r.boxes as number[][]).flat().forEach((v, k) => expect(Math.abs(v - (out.boxes!.data[i * 16 + k] as number))).toBeLessThan(0.05));
        (r.scores as number[]).forEach((v, k) => expect(Math.abs(v - (out.scores!.data[i * 4 + k] as number))).toBeLessThan(1e-4));
      });
    } finally {
      await server.close();
    }
  });
});
