/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { promisify } from 'node:util';
import { deflateSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateReplicas } from '../../../agents/server/estimate.js';
import { calibrateServedProfile } from './calibrate.js';
import { decodeBinaryBytes, encodeBinaryBytes } from './protocol.js';
import { convertedFixture, jobPython, REPO_ROOT, tritonClientPython, type ConvertedFixture } from './python-fixture.js';
import { startServer, type RunningServer } from './server.js';

const python = await jobPython();
const describeWithPython = python ? describe : describe.skip;
if (!python) console.warn('Skipped serving tests: no Python with the job requirements (set TRAINER_AGENT_JOB_PYTHON)');

/** Predict every row, in requests of at most 32 rows (the fixtures' max_batch_size), merged into one answer. */
async function predictAll(url: string, name: 'text' | 'image', rows: string[]): Promise<{ status: number; json: any }> {
  const parts: { status: number; json: any }[] = [];
  for (let i = 0; i < rows.length; i += 32) {
    const data = rows.slice(i, i + 32);
    parts.push(await post(url, { id: 'parity', inputs: [{ name, datatype: 'BYTES', shape: [data.length, 1], data }] }));
  }
  const bad = parts.find((p) => p.status !== 200);
  if (bad) return bad;
  const merged = (output: string) => parts.flatMap((p) => p.json.outputs.find((o: any) => o.name === output).data);
  const classes = parts[0]!.json.outputs.find((o: any) => o.name === 'probabilities').shape[1];
  return { status: 200, json: { ...parts[0]!.json, outputs: [
    { name: 'label', datatype: 'BYTES', shape: [rows.length, 1], data: merged('label') },
    { name: 'probabilities', datatype: 'FP32', shape: [rows.length, classes], data: merged('probabilities') },
  ] } };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function expectSamePredictions(reference: ConvertedFixture['reference'], json: any): void {
  const label = json.outputs.find((o: any) => o.name === 'label');
  const probs = json.outputs.find((o: any) => o.name === 'probabilities');
  const classes = probs.shape[1];
  expect(label.shape).toEqual([reference.length, 1]);
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
    const { status, json } = await predictAll(`${server.url}/v2/models/spam/infer`, 'text', rows);
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
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1, 1] }],
      outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1, 1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }] } },
    { name: 'model configuration (batching as in config.pbtxt)', path: '/v2/models/spam/config', status: 200, body: expect.objectContaining({
      max_batch_size: 32, input: [{ name: 'text', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } }] }) },
    { name: 'unknown model', path: '/v2/models/other', status: 404, body: { error: expect.stringContaining('unknown model') } },
    { name: 'GET on infer', path: '/v2/models/spam/infer', status: 405, body: { error: expect.stringContaining('POST') } },
  ])('GET $name → $status', async ({ path, status, body }) => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
  });

  it.each([
    { name: 'invalid JSON', body: '{', error: 'not valid JSON' },
    { name: 'wrong input name', body: { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: ['x'] }] }, error: 'takes "text"' },
    { name: 'wrong datatype', body: { inputs: [{ name: 'text', datatype: 'FP32', shape: [1, 1], data: [1] }] }, error: 'BYTES' },
    { name: 'shape and data disagree', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2, 1], data: ['a'] }] }, error: 'shape says 2' },
    { name: 'non-string data', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: [3] }] }, error: 'strings' },
    { name: 'unknown output', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: ['a'] }], outputs: [{ name: 'logits' }] }, error: 'unknown output' },
    { name: "shape [N] (Triton needs the batch dimension: [N, 1])", body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['a', 'b'] }] }, error: 'expected [-1, 1], got [2]' },
    { name: 'a 100,000-deep nested array', body: `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1,1],"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`, error: 'element 0 is not' },
    { name: 'binary data without its header length', body: `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1,1],"parameters":{"binary_data_size":9}}]}`, error: 'Inference-Header-Content-Length' },
    { name: 'a classification output (not supported)', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: ['a'] }], outputs: [{ name: 'label', parameters: { classification: 2 } }] }, error: 'not supported' },
  ])('POST with $name → 400 {"error"}', async ({ body, error }) => {
    const { status, json } = await post(`${server.url}/v2/models/spam/infer`, body);
    expect(status).toBe(400);
    expect(json.error).toContain(error);
  });

  it('accepts request bodies over 16 MiB', async () => {
    const row = 'free money meeting report '.repeat(40_000); // ~1 MB
    const data = Array.from({ length: 17 }, () => row);
    const { status, json } = await post(`${server.url}/v2/models/spam/infer`, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [17, 1], data }] });
    expect(status).toBe(200);
    expect(json.outputs[0].shape).toEqual([17, 1]);
  });

  it('refuses bodies over its limit with 413', async () => {
    const { status, json } = await post(`${small.url}/v2/models/spam/infer`, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: ['x'.repeat(4096)] }] });
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

/** Start a POST whose body is only partly sent; returns the request, to finish or abandon. */
function partialPost(url: string, declared: number, first: Buffer): ClientRequest {
  const u = new URL(url);
  const req = httpRequest({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': declared } });
  req.on('error', () => undefined);
  req.write(first);
  return req;
}

/** POST raw bytes with extra headers; the answer's status, headers and body bytes. */
async function postRaw(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const waitFor = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describeWithPython('local KServe v2 server: limits under hostile load', () => {
  let dir: string;
  let fixture: ConvertedFixture;
  let triton: RunningServer;
  let roomy: RunningServer;
  let tight: RunningServer;
  const infer = (s: RunningServer) => `${s.url}/v2/models/spam/infer`;
  const one = (text: string) => ({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: [text] }] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-limits-'));
    fixture = await convertedFixture(python!, dir, 'text', 'spam');
    triton = await startServer({ repositoryDir: fixture.repositoryDir, model: 'spam' });
    roomy = await startServer({ repositoryDir: fixture.repositoryDir, model: 'spam', maxRowsPerRequest: 100_000 });
    tight = await startServer({ repositoryDir: fixture.repositoryDir, model: 'spam', maxBodyBytes: 1_000_000, maxBytesInFlight: 1_000_000 });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([triton, roomy, tight].map((s) => s?.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses more rows than max_batch_size per request with 413 and the reason, as Triton does', async () => {
    const data = Array.from({ length: 33 }, (_, i) => `row ${i}`);
    const { status, json } = await post(infer(triton), { inputs: [{ name: 'text', datatype: 'BYTES', shape: [33, 1], data }] });
    expect(status).toBe(413);
    expect(json.error).toMatch(/33 rows; this server takes at most 32 per request \(max_batch_size 32/);
    expect((await post(infer(triton), { inputs: [{ name: 'text', datatype: 'BYTES', shape: [32, 1], data: data.slice(0, 32) }] })).status).toBe(200);
  });

  it('answers small requests while a 100,000-row request is split into batches and interleaved', async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => `promo ${i % 997}: save ${i % 50}% today`);
    let bigDone = false;
    const big = post(infer(roomy), { inputs: [{ name: 'text', datatype: 'BYTES', shape: [rows.length, 1], data: rows }] }).then((r) => { bigDone = true; return r; });
    await waitFor(() => roomy.metrics.batchSize.get().then((m) => (m.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0) > 0));
    const small: boolean[] = [];
    for (let i = 0; i < 5; i += 1) {
      const { status } = await post(infer(roomy), one('win a free cruise'));
      small.push(status === 200 && !bigDone);
    }
    const answer = await big;
    expect(answer.status).toBe(200);
    expect(answer.json.outputs[0].shape).toEqual([100_000, 1]);
    // Every small request was answered while the big one was still being predicted.
    expect(small).toEqual([true, true, true, true, true]);
  });

  it('answers 429 with Retry-After past the bytes in flight, and takes requests again once they are answered', async () => {
    const held = partialPost(infer(tight), 800_000, Buffer.from('{"inputs":'));
    await waitFor(() => tight.bytesInFlight() === 800_000);
    const res = await fetch(infer(tight), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(one('x'.repeat(300_000))) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await res.json()).error).toMatch(/holding 800000 bytes of other requests \(limit 1000000\)/);
    held.destroy();
    await waitFor(() => tight.bytesInFlight() === 0);
    expect((await post(infer(tight), one('x'.repeat(300_000)))).status).toBe(200);
  });

  it('counts a client that went away as 499, not 500, and gives its bytes back', async () => {
    const closed = async () => Number(/route="error",code="499"\} (\d+)/.exec(await tight.metrics.registry.metrics())?.[1] ?? 0);
    const before = await closed();
    const gone = partialPost(infer(tight), 1000, Buffer.from('{"inputs"'));
    await waitFor(() => tight.bytesInFlight() === 1000);
    gone.destroy();
    await waitFor(() => tight.bytesInFlight() === 0);
    await waitFor(async () => (await closed()) === before + 1);
    expect(await tight.metrics.registry.metrics()).not.toMatch(/code="5\d\d"/);
  });

  it.each([
    { encoding: 'gzip', compress: gzipSync },
    { encoding: 'deflate', compress: deflateSync },
  ])('takes a $encoding-compressed request, as tritonclient can send one', async ({ encoding, compress }) => {
    const body = compress(Buffer.from(JSON.stringify(one(fixture.reference[0]!.text!))));
    const res = await postRaw(infer(triton), body, { 'content-type': 'application/json', 'content-encoding': encoding });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).outputs[0].data).toEqual([fixture.reference[0]!.label]);
  });

  it('refuses a compressed body that inflates past the body limit with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(2_000_000, 0x20));
    const res = await postRaw(infer(tight), bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).error).toMatch(/decompressed request body is over the 1000000-byte limit/);
  });

  it('speaks the binary tensor extension: BYTES in, BYTES and FP32 out', async () => {
    const texts = fixture.reference.slice(0, 3).map((r) => r.text!);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [3, 1], parameters: { binary_data_size: encodeBinaryBytes(texts).length } }],
      outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities', parameters: { binary_data: true } }] }));
    const res = await postRaw(infer(triton), Buffer.concat([header, encodeBinaryBytes(texts)]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
    expect(res.status).toBe(200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const json = JSON.parse(res.body.subarray(0, headerLength).toString()) as { outputs: { name: string; shape: number[]; parameters: { binary_data_size: number } }[] };
    const [label, probs] = json.outputs;
    expect(label!.shape).toEqual([3, 1]);
    const labelBytes = res.body.subarray(headerLength, headerLength + label!.parameters.binary_data_size);
    expect(decodeBinaryBytes(labelBytes, 3, 'label')).toEqual(fixture.reference.slice(0, 3).map((r) => r.label));
    const probBytes = res.body.subarray(headerLength + label!.parameters.binary_data_size);
    expect(probBytes.length).toBe(probs!.parameters.binary_data_size);
    const floats = new Float32Array(probBytes.buffer.slice(probBytes.byteOffset, probBytes.byteOffset + probBytes.length));
    fixture.reference.slice(0, 3).forEach((r, i) => r.probabilities.forEach((p, c) => expect(Math.abs(floats[i * 2 + c]! - p)).toBeLessThan(1e-4)));
  });

  it('answers NVIDIA\'s own client (tritonclient[http]) with the predictions of the trained model', async () => {
    const client = await tritonClientPython();
    expect(client).toBeDefined();
    const texts = fixture.reference.slice(0, 4).map((r) => r.text!);
    const { stdout } = await promisify(execFile)(client!, [join(REPO_ROOT, 'operator/local/serve/tritonclient-check.py'), triton.url, 'spam', ...texts], { timeout: 60_000 });
    const answer = JSON.parse(stdout);
    expect(answer.ready).toBe(true);
    expect(answer.maxBatchSize).toBe(32);
    expect(answer.metadata.inputs).toEqual([{ name: 'text', datatype: 'BYTES', shape: [-1, 1] }]);
    const expected = fixture.reference.slice(0, 4).map((r) => r.label);
    expect(answer.binary.label).toEqual(expected);
    expect(answer.binary.labelShape).toEqual([4, 1]);
    expect(answer.json.label).toEqual(expected);
    answer.binary.probabilities.forEach((row: number[], i: number) => row.forEach((p, c) => expect(Math.abs(p - fixture.reference[i]!.probabilities[c]!)).toBeLessThan(1e-4)));
  }, 15 * 60_000);
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
    const { status, json } = await predictAll(`${server.url}/v2/models/digits/infer`, 'image', data);
    expect(status).toBe(200);
    expectSamePredictions(fixture.reference, json);
  });

  it('describes an image input in its metadata', async () => {
    const res = await fetch(`${server.url}/v2/models/digits`);
    expect((await res.json()).inputs).toEqual([{ name: 'image', datatype: 'BYTES', shape: [-1, 1] }]);
  });

  it('answers 400 for data that is not an image', async () => {
    const { status, json } = await post(`${server.url}/v2/models/digits/infer`, {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [Buffer.from('hello').toString('base64')] }],
    });
    expect(status).toBe(400);
    expect(json.error).toContain('invalid image');
  });
});
