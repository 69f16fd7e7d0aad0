/**
 * `npm run bench`: train (or reuse) a TF-IDF logistic regression on the SpamAssassin corpus with the
 * Python jobs, convert and benchmark it, estimate replicas for the paper's example (100 QPS in 2 GB
 * containers), serve it locally, then measure it as a user would over KServe v2 HTTP on 127.0.0.1:
 * closed loop at concurrency 8 (saturation) and open loop at the estimated per-replica rate. Then the
 * deep-learning part (torch.ts): fine-tuning samples/s on this CPU, export time, and the fine-tuned
 * model's served rows/s against raw onnxruntime on the same batches.
 *
 *   npm run bench -- [--out FILE] [--fresh] [--seconds N] [--no-torch]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConvertJobResult } from '../../agents/jobs/convert-spec.js';
import { estimateReplicas, type Estimate, type ServingProfile } from '../../agents/server/estimate.js';
import { closedLoop, openLoop, stableClosedLoop, type StableResult } from '../local/serve/load.js';
import { profileServedModel } from '../local/serve/profile.js';
import { jobPython, runJobModule, torchPython } from '../local/serve/python-fixture.js';
import { benchTorch, BATCH, type TorchBench } from './torch.js';
import { spamAssassinRows } from './spam-corpus.js';

const MODEL = 'spam-filter';
const TARGETS = { qps: 100, memoryBytes: 2e9 } as const;
const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

async function prepareModel(python: string, fresh: boolean): Promise<{ dir: string; result: ConvertJobResult }> {
  // Keyed by the Python requirements and the conversion code: either changing retrains and reconverts.
  const jobs = join(here, '..', '..', 'images', 'jobs');
  const hash = createHash('sha256').update(readFileSync(join(jobs, 'requirements.txt'))).update('bench-v1');
  const convertDir = join(jobs, 'trainer_agent_jobs', 'convert');
  for (const file of readdirSync(convertDir).filter((n) => n.endsWith('.py') && !n.startsWith('test_')).sort()) {
    hash.update(file).update(readFileSync(join(convertDir, file)));
  }
  const key = hash.digest('hex').slice(0, 12);
  const dir = join(process.env.TRAINER_AGENT_CACHE ?? join(homedir(), '.cache', 'trainer-agent'), 'bench', `spam-${key}`);
  const resultPath = join(dir, 'out', 'result.json');
  if (!fresh && existsSync(resultPath)) {
    const cached = ConvertJobResult.safeParse(JSON.parse(readFileSync(resultPath, 'utf8')));
    if (cached.success) {
      log(`Reused the converted model in ${dir}`);
      return { dir, result: cached.data };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rows = spamAssassinRows();
  writeFileSync(join(dir, 'emails.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  log(`Loaded ${rows.length} deduplicated SpamAssassin emails; training TF-IDF + logistic regression`);
  const trained = await runJobModule(python, ['trainer_agent_jobs.convert.fixtures', 'text', '--out', dir, '--rows', join(dir, 'emails.jsonl')]);
  log(`Trained: ${trained.trim()}`);
  const spec = { modelDir: join(dir, 'train'), dataDir: join(dir, 'data'), modelName: MODEL,
    benchmark: { secondsPerPoint: 1, batchSizes: [1, 4, 16, 32], concurrencies: [1, 2, 4, 8] } };
  writeFileSync(join(dir, 'convert-spec.json'), JSON.stringify(spec));
  log('Converting to ONNX, checking parity, benchmarking with onnxruntime');
  await runJobModule(python, ['trainer_agent_jobs.convert', '--spec', join(dir, 'convert-spec.json'), '--out', join(dir, 'out')]);
  const raw = JSON.parse(readFileSync(resultPath, 'utf8')) as { kind?: string; error?: string };
  if (raw.kind !== 'convert') throw new Error(`conversion failed: ${raw.error}`);
  return { dir, result: ConvertJobResult.parse(raw) };
}

async function startServerProcess(repositoryDir: string): Promise<{ child: ChildProcess; url: string; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'server-process.ts'), repositoryDir, MODEL],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolveLine, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
  });
  const { url, pid } = JSON.parse(line) as { url: string; pid: number };
  return { child, url, pid };
}

/** Peak resident memory of a process (Linux VmHWM). */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const f = (x: number, d = 1): string => x.toFixed(d);

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

async function main(): Promise<number> {
  const out = resolve(arg('--out') ?? join(tmpdir(), 'trainer-agent-bench', 'serving-bench.json'));
  const seconds = Number(arg('--seconds') ?? 20);
  const loadAtStart = loadavg();
  const python = await jobPython();
  if (!python) throw new Error('no Python environment for the jobs (images/jobs/scripts/ensure-venv.sh)');
  const { dir, result } = await prepareModel(python, process.argv.includes('--fresh'));
  const repositoryDir = join(dir, 'out', 'model-repository');
  const reference = readFileSync(join(dir, 'out', 'reference-predictions.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string });
  const bodies = reference.map((r) => JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: [r.text] }] }));
  const server = await startServerProcess(repositoryDir);
  const url = `${server.url}/v2/models/${MODEL}/infer`;
  let serverPeak = 0;
  try {
    log(`Serving at ${server.url}; warming up`);
    await closedLoop(url, bodies, 4, { durationMs: 2000, maxRequests: 5000 });
    log('Profiling through the HTTP server (closed-loop sweep 1, 2, 4, 8, then open-loop probes)');
    const triton = result.triton;
    const { profile, sweep, closedLoopSaturationQps, probes } = await profileServedModel({ url, bodies, instances: triton.instances, maxBatchSize: triton.maxBatchSize,
      windowMs: 2000, maxWindows: 8, maxRequestsPerWindow: 60_000, peakRssBytes: () => peakRss(server.pid) });
    const estimate: Estimate = estimateReplicas(profile, TARGETS);
    const pythonProfile: ServingProfile = result.profile;
    const pythonEstimate = estimateReplicas(pythonProfile, TARGETS);

    log('Measuring as a user: closed loop at concurrency 8');
    const saturation: StableResult = await stableClosedLoop(url, bodies, 8, { windowMs: 3000, maxWindows: 8, maxRequestsPerWindow: 100_000 });
    const ratio = estimate.perReplicaQps / saturation.throughput;
    const pythonRatio = pythonEstimate.perReplicaQps / saturation.throughput;
    log(`Measuring as a user: open loop (Poisson) at the estimated ${f(estimate.perReplicaQps)} req/s for ${seconds} s`);
    const open = await openLoop(url, bodies, estimate.perReplicaQps, { durationMs: seconds * 1000,
      maxRequests: Math.ceil(estimate.perReplicaQps * seconds * 1.5) + 10 }, { poisson: true, seed: 42 });
    const sustainedRatio = open.throughput / estimate.perReplicaQps;
    serverPeak = peakRss(server.pid);
    server.child.kill('SIGTERM');
    let torch: TorchBench | undefined;
    if (!process.argv.includes('--no-torch')) {
      log('Deep learning: fine-tuning, export, served vs raw onnxruntime');
      torch = await benchTorch(await torchPython(), { fresh: process.argv.includes('--fresh'), seconds: Math.min(seconds, 20), log });
    }
    const checks = {
      perReplicaQpsWithin50to85PercentOfSaturation: ratio >= 0.5 && ratio <= 0.85,
      openLoopP99WithinTarget: open.p99Ms <= estimate.targetLatencyP99Ms,
      openLoopSustainedOfferedRate: sustainedRatio >= 0.95,
      noErrors: open.errors === 0 && saturation.errors === 0,
      ...(torch ? { fineTunedServedAtLeast80PercentOfRawOnnxruntime: torch.servedToRaw >= 0.8 } : {}),
    };
    const report = {
      model: MODEL, createdAt: new Date().toISOString(), targets: TARGETS,
      machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
      conversion: { precision: result.precision, parity: result.parity, accuracy: result.accuracy, modelBytes: result.modelBytes, variants: result.variants },
      pythonOnnxruntimeProfile: pythonProfile, pythonEstimate: { perReplicaQps: pythonEstimate.perReplicaQps, replicas: pythonEstimate.replicas, ratioToHttpSaturation: pythonRatio },
      servedProfile: profile, sweep, closedLoopSaturationQps, openLoopProbes: probes, estimate,
      measured: { closedLoopConcurrency8: saturation, openLoopAtEstimate: open, perReplicaQpsRatio: ratio, sustainedRatio,
        p99RatioToTarget: open.p99Ms / estimate.targetLatencyP99Ms, serverPeakRssBytes: serverPeak },
      ...(torch ? { deepLearning: torch } : {}),
      checks,
    };
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write([
      `Serving benchmark: ${MODEL} (TF-IDF + logistic regression, SpamAssassin), ONNX ${result.precision}, accuracy ${f((result.accuracy?.onnx ?? 0) * 100, 2)}%`,
      table([
        ['raw onnxruntime saturation (Python)', `${f(pythonProfile.saturationQps)} req/s — would plan ${f(pythonEstimate.perReplicaQps)} req/s/replica = ${f(pythonRatio * 100, 0)}% of HTTP saturation`],
        ['HTTP profile: service time (c=1)', `${f(profile.serviceTimeMs, 2)} ms mean, ${f(profile.serviceTimeP99Ms, 2)} ms p99, CV ${f(profile.serviceTimeCv ?? 0, 2)}`],
        ...sweep.map((s) => [`HTTP profile: concurrency ${s.concurrency}`, `${f(s.throughput)} req/s, p99 ${f(s.p99Ms, 2)} ms (${s.windows} windows, ${s.stable ? 'stable' : 'NOT stable'})`] as [string, string]),
        ...probes.map((p) => [`HTTP profile: open loop ${f(p.rate)} req/s`, `${f(p.throughput)} req/s answered, p99 ${f(p.p99Ms, 1)} ms, drain ${f(p.drainSeconds ?? 0, 2)} s: ${p.keptUp ? 'kept up' : 'fell behind'}`] as [string, string]),
        ['HTTP profile: saturation used', `${f(profile.saturationQps)} req/s = min(closed-loop ${f(closedLoopSaturationQps)}, open-loop capacity)`],
        ['estimate', `${estimate.replicas} replicas × ${f(estimate.perReplicaQps)} req/s, p99 target ${estimate.targetLatencyP99Ms} ms (predicted ${f(estimate.predictedLatencyP99Ms, 2)}), ${f(estimate.memoryBytes / 1e6, 0)} MB/replica`],
        ['user closed loop c=8 (saturation)', `${f(saturation.throughput)} req/s, p99 ${f(saturation.p99Ms, 2)} ms, errors ${saturation.errors} (${saturation.windows} windows, ${saturation.stable ? 'stable' : 'NOT stable'})`],
        ['perReplicaQps / saturation', `${f(ratio * 100, 1)}% (goal 50–85%) ${checks.perReplicaQpsWithin50to85PercentOfSaturation ? 'OK' : 'MISS'}`],
        [`user open loop at ${f(estimate.perReplicaQps)} req/s`, `${f(open.throughput)} req/s sustained (${f(sustainedRatio * 100, 1)}%), p50 ${f(open.p50Ms, 2)} ms, p99 ${f(open.p99Ms, 2)} ms, errors ${open.errors}, ${open.requests} requests, backlog drained in ${f(open.drainSeconds ?? 0, 2)} s`],
        ['p99 / target', `${f(open.p99Ms, 2)} / ${estimate.targetLatencyP99Ms} ms = ${f((open.p99Ms / estimate.targetLatencyP99Ms) * 100, 1)}% ${checks.openLoopP99WithinTarget ? 'OK' : 'MISS'}`],
        ['server peak RSS', `${f(serverPeak / 1e6, 0)} MB`],
        ...(torch ? [
          ['fine-tuning MiniLM (CPU)', `${f(torch.training.samplesPerSecond, 1)} samples/s on ${torch.training.device}, ${torch.training.steps} steps over ${torch.training.rows} rows in ${f(torch.training.seconds, 0)} s (job total), accuracy ${f(torch.training.accuracy * 100, 1)}%`],
          ['export to ONNX', `${f(torch.conversion.exportSeconds, 1)} s; ${torch.conversion.precision}, ${f(torch.conversion.modelBytes / 1e6, 1)} MB, parity max |dp| ${torch.conversion.parity.maxAbsProbDiff.toExponential(1)}`],
          [`raw onnxruntime, ${BATCH}-row batches`, `${f(torch.rawRowsPerSecond, 1)} rows/s (tokenised beforehand, 1 thread)`],
          [`served over HTTP, same batches`, `${f(torch.servedRowsPerSecond, 1)} rows/s (JSON, tokenising, batching)`],
          ['served / raw', `${f(torch.servedToRaw * 100, 1)}% (goal ≥ 80%) ${torch.servedToRaw >= 0.8 ? 'OK' : 'MISS'}`],
        ] as [string, string][] : []),
        ['machine', `${cpus().length} CPUs, load average ${loadAtStart.map((x) => f(x, 1)).join('/')} at start, ${loadavg().map((x) => f(x, 1)).join('/')} at end (other work shares these CPUs)`],
      ]),
      `JSON: ${out}`, '',
    ].join('\n'));
    return Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    server.child.kill('SIGTERM');
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  log(`Bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
