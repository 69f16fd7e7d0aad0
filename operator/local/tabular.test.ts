/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TrainingRequestStatus } from '../api/training-request.js';
import { jobPython, tritonClientPython } from './serve/python-fixture.js';
import { startServer, type RunningServer } from './serve/server.js';
import { tabularBinaryBody, tabularRequestBody, type TabularModelInfo } from './serve/tabular-protocol.js';
import { readStatus, requestDir } from './state.js';
import { cli, conditionOf, REPO } from './testing/cli.js';

// The two tabular examples end to end: `trainer-agent run` on data that ships inside scikit-learn's wheel
// (the breast cancer set as a CSV with an id column, the diabetes set as Parquet), then the served model
// through the local KServe v2 server. Both runs go at once, each in its own state dir.
jest.setTimeout(30 * 60 * 1000);

const python = await jobPython();
const run = promisify(execFile);

interface Example {
  name: string;
  stateDir: string;
  code: number;
  stderr: string;
  status: TrainingRequestStatus;
  server: RunningServer;
  table: TabularModelInfo;
  reference: any[];
}

/** The conversion job's reference predictions (the trained model on held-out rows) of a request. */
function referenceRows(stateDir: string, name: string): any[] {
  const jobs = join(stateDir, 'default', name, 'jobs');
  const convert = readdirSync(jobs).find((j) => j.startsWith(`${name}-convert-`))!;
  return readFileSync(join(jobs, convert, 'reference-predictions.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, json: await res.json() };
}

/** Every reference row through the server, 32 rows a request; the outputs by name, concatenated. */
async function serveAll(example: Example): Promise<Record<string, any[]>> {
  const out: Record<string, any[]> = {};
  for (let i = 0; i < example.reference.length; i += 32) {
    const rows = example.reference.slice(i, i + 32).map((r) => r.features);
    const { status, json } = await post(`${example.server.url}/v2/models/${example.name}/infer`, tabularRequestBody(example.table, rows));
    expect(status).toBe(200);
    for (const o of json.outputs) out[o.name] = [...(out[o.name] ?? []), ...o.data];
  }
  return out;
}

const examples: Record<string, Example> = {};

beforeAll(async () => {
  expect(python).toBeDefined();
  const names = ['breast-cancer', 'diabetes'];
  await Promise.all(names.map(async (name) => {
    const script = join(REPO, 'examples', name, 'prepare-data.py');
    await run(python!, [script], { cwd: REPO, timeout: 300_000 });
  }));
  await Promise.all(names.map(async (name) => {
    const stateDir = await mkdtemp(join(tmpdir(), `ta-${name}-`));
    const result = await cli(['run', join(REPO, 'examples', name, 'request.yaml'), '--state-dir', stateDir]);
    const status = readStatus(requestDir(stateDir, 'default', name))!; // paths resolved against the request's folder
    if (result.code !== 0) throw new Error(`${name}: exit ${result.code}\n${result.stderr.slice(-3000)}`);
    const server = await startServer({ repositoryDir: status.model!.uri!, model: name });
    const table = { ...server.model, tabular: server.model.tabular! };
    examples[name] = { name, stateDir, code: result.code, stderr: result.stderr, status, server, table, reference: referenceRows(stateDir, name) };
  }));
});

afterAll(async () => {
  for (const e of Object.values(examples)) {
    await e.server.close();
    await rm(e.stateDir, { recursive: true, force: true });
  }
});

describe('a table classification (breast cancer, CSV) goes Ready', () => {
  it('with the metrics in status, the target judged on 5-fold cross-validation', () => {
    const { status } = examples['breast-cancer']!;
    expect(status.phase).toBe('Ready');
    expect(conditionOf(status, 'TargetMet')).toMatchObject({ status: 'True' });
    expect(status.model!.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(status.model!.metrics.auc).toBeGreaterThan(0.95);
    const attempt = status.attempts!.find((a) => a.n === status.model!.attempt)!;
    expect(attempt.evaluation).toMatchObject({ method: 'cross-validation', rows: 569 });
    expect(attempt.interval!.accuracy![0]).toBeLessThan(status.model!.metrics.accuracy!);
  });

  it('fits LightGBM first with a linear baseline beside it, and trains the linear model too when the baseline scored better', () => {
    const { status } = examples['breast-cancer']!;
    const [trees, ...rest] = status.attempts!;
    expect(trees!.model).toBe('tabular-lightgbm');
    const baseline = Number(/Linear baseline on the same rows: accuracy (0\.\d+)/.exec(trees!.note ?? '')?.[1]);
    expect(baseline).toBeGreaterThan(0.9);
    if (baseline > trees!.metrics.accuracy!) {
      expect(rest.map((a) => a.model)).toEqual(['tabular-linear']);
      expect(rest[0]!.note).toMatch(/meets accuracy >= 0\.95 within the limits, but the sklearn-linear baseline fitted beside attempt #1/);
      expect(Math.abs(rest[0]!.metrics.accuracy! - baseline)).toBeLessThan(0.01); // the same model on the same folds
    } else {
      expect(rest).toEqual([]);
    }
    const best = Math.max(...status.attempts!.map((a) => a.metrics.accuracy!));
    expect(status.model!.metrics.accuracy).toBe(best);
  });

  it('leaves the id column out as an identifier, and says so', () => {
    const { status } = examples['breast-cancer']!;
    expect(status.data!.summary).toMatch(/left out patient_id \(identifier\)/);
    const report = JSON.parse(readFileSync(status.data!.reportUri!, 'utf8'));
    expect(report.table.excluded).toEqual([expect.objectContaining({ column: 'patient_id', excluded: 'identifier' })]);
    expect(report.table.features).toEqual({ numeric: 30, categorical: 0 });
    expect(existsSync(join(status.data!.reportUri!, '..', 'missing-values.png'))).toBe(true);
    expect(existsSync(join(status.data!.reportUri!, '..', 'single-column-scores.png'))).toBe(true);
  });

  it('serves the trained model\'s predictions: the same labels and probabilities on every held-out row', async () => {
    const e = examples['breast-cancer']!;
    expect(e.reference.length).toBe(500);
    const served = await serveAll(e);
    expect(served.label).toEqual(e.reference.map((r) => r.label));
    const k = e.table.labels.length;
    const worst = Math.max(...e.reference.flatMap((r, i) => r.probabilities.map((p: number, c: number) => Math.abs(p - served.probabilities![i * k + c]))));
    expect(worst).toBeLessThan(1e-5);
  });

  it('documents each feature with its type and a real held-out row in the API document', () => {
    const { status } = examples['breast-cancer']!;
    const guide = readFileSync(status.apiDoc!.uri.replace(/openapi\.json$/, 'README.md'), 'utf8');
    expect(guide).toContain('| `mean_radius` | FP32 | numeric | mean radius |');
    expect(guide).not.toContain('patient_id');
    const doc = JSON.parse(readFileSync(status.apiDoc!.uri, 'utf8'));
    const example = doc.paths['/v2/models/breast-cancer/infer'].post.requestBody.content['application/json'].examples['a-held-out-row'].value;
    expect(example.inputs).toHaveLength(30);
    expect(status.apiDoc!.summary).toMatch(/30 feature inputs/);
  });

  it.each([
    { name: 'a missing feature input', change: (inputs: any[]) => inputs.filter((i) => i.name !== 'worst_area'), says: /missing input "worst_area" \(FP32 \[N, 1\], a number, column "worst area"\)/ },
    { name: 'a feature sent as BYTES', change: (inputs: any[]) => inputs.map((i) => (i.name === 'mean_texture' ? { ...i, datatype: 'BYTES', data: ['14.93'] } : i)), says: /input "mean_texture" must have datatype FP32/ },
    { name: 'a string in an FP32 feature', change: (inputs: any[]) => inputs.map((i) => (i.name === 'mean_area' ? { ...i, data: ['large'] } : i)), says: /input "mean_area" is FP32: element 0 must be a number/ },
    { name: 'an input the model does not take', change: (inputs: any[]) => [...inputs, { name: 'patient_id', datatype: 'FP32', shape: [1, 1], data: [100001] }], says: /unknown input "patient_id"/ },
  ])('answers $name with a 400 that names the feature', async ({ change, says }) => {
    const e = examples['breast-cancer']!;
    const body = JSON.parse(tabularRequestBody(e.table, [e.reference[0].features]));
    const { status, json } = await post(`${e.server.url}/v2/models/breast-cancer/infer`, JSON.stringify({ inputs: change(body.inputs) }));
    expect(status).toBe(400);
    expect(json.error).toMatch(says);
  });
});

describe('a table regression (diabetes, Parquet) goes Ready', () => {
  it('with MAE, RMSE, MAPE and R² and their intervals in status, and TargetMet on rmse <= 60', () => {
    const { status } = examples.diabetes!;
    expect(status.phase).toBe('Ready');
    expect(status.task).toMatchObject({ task: 'tabular-regression', objectives: [{ metric: 'rmse', op: '<=', value: 60 }] });
    const metrics = status.model!.metrics;
    expect(Object.keys(metrics).sort()).toEqual(['mae', 'mape', 'r2', 'rmse']);
    expect(metrics.rmse).toBeLessThanOrEqual(60);
    expect(conditionOf(status, 'TargetMet')).toMatchObject({ status: 'True' });
    expect(conditionOf(status, 'TargetMet')!.message).toMatch(/rmse \d+\.\d+ \(target <= 60\) \[95% \d+\.\d+–\d+\.\d+, cross-validation on 442 rows\]/);
    const attempt = status.attempts!.find((a) => a.n === status.model!.attempt)!;
    for (const metric of ['mae', 'rmse', 'mape', 'r2']) expect(attempt.interval![metric]).toHaveLength(2);
    expect(status.metric).toMatch(/^rmse /);
    const best = Math.min(...status.attempts!.map((a) => a.metrics.rmse!));
    expect(metrics.rmse).toBe(best);
  });

  it('serves the trained model\'s numbers on every held-out row', async () => {
    const e = examples.diabetes!;
    expect(e.reference.length).toBe(442);
    const served = await serveAll(e);
    const worst = Math.max(...e.reference.map((r, i) => Math.abs(r.prediction - served.prediction![i]) / Math.max(1, Math.abs(r.prediction))));
    expect(worst).toBeLessThan(1e-5);
  });

  it('takes binary FP32 inputs, NaN for a missing number, and answers like JSON', async () => {
    const e = examples.diabetes!;
    const rows = e.reference.slice(0, 3).map((r) => r.features);
    const { body, headerLength } = tabularBinaryBody(e.table, [...rows, { ...rows[0], bmi: null }]);
    const { status, json } = await post(`${e.server.url}/v2/models/diabetes/infer`, body,
      { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
    expect(status).toBe(200);
    const prediction = json.outputs.find((o: any) => o.name === 'prediction');
    expect(prediction.shape).toEqual([4, 1]);
    e.reference.slice(0, 3).forEach((r, i) => expect(Math.abs(prediction.data[i] - r.prediction)).toBeLessThan(1e-3));
    expect(Number.isFinite(prediction.data[3])).toBe(true);
  });

  it('answers NVIDIA\'s own client (tritonclient[http]) with one numpy array per feature', async () => {
    const client = await tritonClientPython();
    expect(client).toBeDefined();
    const e = examples.diabetes!;
    const rows = e.reference.slice(0, 4).map((r) => r.features);
    const { stdout } = await run(client!, [join(REPO, 'operator/local/serve/tritonclient-tabular-check.py'), e.server.url, 'diabetes', JSON.stringify(rows)], { timeout: 120_000 });
    const answer = JSON.parse(stdout);
    expect(answer.metadata.inputs.map((i: any) => i.name)).toEqual(['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);
    expect(answer.shapes.prediction).toEqual([4, 1]);
    answer.outputs.prediction.forEach((p: number[], i: number) => expect(Math.abs(p[0]! - e.reference[i].prediction)).toBeLessThan(1e-3));
  });
});
