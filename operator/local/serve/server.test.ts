/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateReplicas } from '../../../agents/server/estimate.js';
import { calibrateServedProfile } from './calibrate.js';
import { convertedFixture, jobPython, type ConvertedFixture } from './python-fixture.js';
import { startServer, type RunningServer } from './server.js';

const python = await jobPython();
const describeWithPython = python ? describe : describe.skip;
if (!python) console.warn('Skipped serving tests: no Python with the job requirements (set TRAINER_AGENT_JOB_PYTHON)');

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function expectSamePredictions(reference: ConvertedFixture['reference'], json: any): void {
  const label = json.outputs.find((o: any) => o.name === 'label');
  const probs = json.outputs.find((o: any) => o.name === 'probabilities');
  const classes = probs.shape[1];
  expect(label.shape).toEqual([reference.length]);
  expect(label.data).toEqual(reference.map((r) => r.label));
  reference.forEach((r, i) => {
    const served = probs.data.slice(i * classes, (i + 1) * classes) as number[];
    served.forEach((p, c) => expect(Math.abs(p - r.probabilities[c]!)).toBeLessThan(1e-4));
  });
}

describeWithPython('local KServe v2 server: a text model', () => {
  let dir: string;
  let fixture: ConvertedFixture;
  let server: RunningServer;
  let small: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-text-'));
    fixture = await convertedFixture(python!, dir, 'text', 'spam');
    server = await startServer({ repositoryDir: fixture.repositoryDir, model: 'spam' });
    small = await startServer({ repositoryDir: fixture.repositoryDir, model: 'spam', maxBodyBytes: 1024 });
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await small?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the same predictions the trained model made on held-out rows', async () => {
    const rows = fixture.reference.map((r) => r.text!);
    const { status, json } = await post(`${server.url}/v2/models/spam/infer`, {
      id: 'parity', inputs: [{ name: 'text', datatype: 'BYTES', shape: [rows.length], data: rows }],
    });
    expect(status).toBe(200);
    expect(json.id).toBe('parity');
    expect(json.model_name).toBe('spam');
    expectSamePredictions(fixture.reference, json);
  });

  it('gives the same answers to concurrent single-row requests (dynamically batched)', async () => {
    const rows = fixture.reference.slice(0, 20);
    const answers = await Promise.all(rows.map((r) => post(`${server.url}/v2/models/spam/infer`, {
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: [[r.text]] }], outputs: [{ name: 'label' }],
    })));
    expect(answers.map((a) => a.json.outputs[0].data[0])).toEqual(rows.map((r) => r.label));
    expect(answers.every((a) => a.json.outputs.length === 1)).toBe(true);
  });

  it.each([
    { name: 'liveness', path: '/v2/health/live', status: 200, body: { live: true } },
    { name: 'readiness', path: '/v2/health/ready', status: 200, body: { ready: true } },
    { name: 'model readiness', path: '/v2/models/spam/ready', status: 200, body: { name: 'spam', ready: true } },
    { name: 'model metadata', path: '/v2/models/spam', status: 200, body: {
      name: 'spam', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }] } },
    { name: 'unknown model', path: '/v2/models/other', status: 404, body: { error: expect.stringContaining('unknown model') } },
    { name: 'GET on infer', path: '/v2/models/spam/infer', status: 405, body: { error: expect.stringContaining('POST') } },
  ])('GET $name → $status', async ({ path, status, body }) => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
  });

  it.each([
    { name: 'invalid JSON', body: '{', error: 'not valid JSON' },
    { name: 'wrong input name', body: { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: ['x'] }] }, error: 'takes "text"' },
    { name: 'wrong datatype', body: { inputs: [{ name: 'text', datatype: 'FP32', shape: [1], data: [1] }] }, error: 'BYTES' },
    { name: 'shape and data disagree', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['a'] }] }, error: 'shape says 2' },
    { name: 'non-string data', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [3] }] }, error: 'strings' },
    { name: 'unknown output', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }], outputs: [{ name: 'logits' }] }, error: 'unknown output' },
  ])('POST with $name → 400 {"error"}', async ({ body, error }) => {
    const { status, json } = await post(`${server.url}/v2/models/spam/infer`, body);
    expect(status).toBe(400);
    expect(json.error).toContain(error);
  });

  it('accepts request bodies over 16 MiB', async () => {
    const row = 'free money meeting report '.repeat(40_000); // ~1 MB
    const data = Array.from({ length: 17 }, () => row);
    const { status, json } = await post(`${server.url}/v2/models/spam/infer`, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [17], data }] });
    expect(status).toBe(200);
    expect(json.outputs[0].shape).toEqual([17]);
  });

  it('refuses bodies over its limit with 413', async () => {
    const { status, json } = await post(`${small.url}/v2/models/spam/infer`, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'.repeat(4096)] }] });
    expect(status).toBe(413);
    expect(json.error).toContain('bytes');
  });

  it('calibrates a serving profile through its own HTTP path for the estimate', async () => {
    const { profile, sweep, probes, closedLoopSaturationQps } = await calibrateServedProfile({ repositoryDir: fixture.repositoryDir, model: 'spam',
      referencePredictions: join(dir, 'out', 'reference-predictions.jsonl'), concurrencies: [1, 2], windowMs: 200, maxWindows: 3 });
    expect(sweep.map((s) => s.concurrency)).toEqual([1, 2]);
    expect(probes.length).toBeGreaterThan(0);
    expect(profile.saturationQps).toBeLessThanOrEqual(closedLoopSaturationQps);
    expect(profile).toMatchObject({ source: 'local-http', accelerator: 'cpu', instances: 1, maxBatchSize: 32 });
    expect(profile.saturationQps).toBeGreaterThan(0);
    expect(estimateReplicas(profile, { qps: 100 }).reasoning[0]).toContain('local-http');
  });

  it('exposes Prometheus metrics: requests, latency and batch sizes', async () => {
    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/trainer_agent_serve_requests_total\{model="spam",route="infer",code="200"\} \d+/);
    expect(text).toContain('trainer_agent_serve_request_duration_seconds_bucket');
    expect(text).toMatch(/trainer_agent_serve_batch_size_count\{model="spam"\} \d+/);
  });
});

describeWithPython('local KServe v2 server: an image model', () => {
  let dir: string;
  let fixture: ConvertedFixture;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-image-'));
    fixture = await convertedFixture(python!, dir, 'image', 'digits', {}, ['--limit', '300']);
    server = await startServer({ repositoryDir: fixture.repositoryDir, model: 'digits' });
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('decodes base64 PNGs like training did and predicts the same', async () => {
    const data = await Promise.all(fixture.reference.map(async (r) => (await readFile(r.image!)).toString('base64')));
    const { status, json } = await post(`${server.url}/v2/models/digits/infer`, {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [data.length], data }],
    });
    expect(status).toBe(200);
    expectSamePredictions(fixture.reference, json);
  });

  it('describes an image input in its metadata', async () => {
    const res = await fetch(`${server.url}/v2/models/digits`);
    expect((await res.json()).inputs).toEqual([{ name: 'image', datatype: 'BYTES', shape: [-1] }]);
  });

  it('answers 400 for data that is not an image', async () => {
    const { status, json } = await post(`${server.url}/v2/models/digits/infer`, {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [Buffer.from('hello').toString('base64')] }],
    });
    expect(status).toBe(400);
    expect(json.error).toContain('invalid image');
  });
});
