import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { JobObservation, JobRequest } from '../pipeline/types.js';
import { writeFileAtomic } from './state.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The Python job package's folder (on PYTHONPATH for the jobs). */
export const JOBS_PACKAGE_DIR = join(repoRoot, 'images', 'jobs');

/** What `job-state.json` records next to each job's outputs. */
interface JobState {
  name: string;
  kind: JobRequest['kind'];
  state: JobObservation['state'];
  pid?: number;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

const running = new Set<ChildProcess>();
let reaperInstalled = false;

/**
 * Jobs are children of `run` and die with it. Installed when the first job starts, not at import,
 * so commands that run no job (serve, status) keep their own signal handling.
 */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of running) child.kill('SIGKILL');
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Observe every job under `jobsDir` from disk. A job whose runner died mid-way is not reported,
 * so the pipeline asks for it again; finished jobs are reported with their result.
 */
export function observeLocalJobs(jobsDir: string): Record<string, JobObservation> {
  const out: Record<string, JobObservation> = {};
  if (!existsSync(jobsDir)) return out;
  for (const name of readdirSync(jobsDir)) {
    const statePath = join(jobsDir, name, 'job-state.json');
    if (!existsSync(statePath)) continue;
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as JobState;
    if (state.state === 'Running' && !alive(state.pid)) continue;
    const resultPath = join(jobsDir, name, 'result.json');
    out[state.name] = {
      state: state.state,
      ...(state.message ? { message: state.message } : {}),
      ...(state.state === 'Succeeded' && existsSync(resultPath) ? { result: withServedProfile(JSON.parse(readFileSync(resultPath, 'utf8')), join(jobsDir, name)) } : {}),
    };
  }
  return out;
}

/** Where the local backend records the profile it measured through the KServe v2 server. */
export const SERVED_PROFILE_FILE = 'served-profile.json';

/**
 * A conversion result with its serving profile replaced by the one measured over HTTP, when there
 * is one: the estimate must hold for what clients of the server get, not for raw runtime calls.
 */
function withServedProfile(result: Record<string, unknown>, dir: string): Record<string, unknown> {
  const path = join(dir, SERVED_PROFILE_FILE);
  if (result.kind !== 'convert' || !existsSync(path)) return result;
  return { ...result, profile: JSON.parse(readFileSync(path, 'utf8')) };
}

/** A progress line a job printed. */
export type JobProgress = NonNullable<JobObservation['progress']>;

/**
 * The job's command line: `python -m trainer_agent_jobs.<kind> ...`, or for a torch training job
 * with several local processes `python -m torch.distributed.run --standalone --nproc_per_node=N -m
 * trainer_agent_jobs.train ...` (torchrun; gloo on this machine's CPUs; rank 0 writes the results).
 */
export function localJobArgs(job: Pick<JobRequest, 'kind' | 'runtime'>, specPath: string, outDir: string, terminationLog: string, processes = 1): string[] {
  const args = ['--spec', specPath, '--out', outDir, '--termination-log', terminationLog];
  if (job.kind === 'train' && job.runtime === 'torch' && processes > 1) {
    return ['-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${processes}`, '-m', `trainer_agent_jobs.${job.kind}`, ...args];
  }
  return ['-m', `trainer_agent_jobs.${job.kind}`, ...args];
}

/**
 * Run one job as a child process of this one: `python -m trainer_agent_jobs.<kind> --spec
 * spec.json --out DIR --termination-log DIR/termination-log` (under torchrun for `processes` > 1).
 * Progress lines (JSON on stdout) go to `onProgress`; stderr goes to DIR/job.log. Resolves with the
 * job's final observation.
 */
export async function runLocalJob(job: JobRequest, python: string, onProgress: (p: JobProgress) => void, options: { processes?: number } = {}): Promise<JobObservation> {
  mkdirSync(job.outDir, { recursive: true });
  const specPath = join(job.outDir, 'spec.json');
  const terminationLog = join(job.outDir, 'termination-log');
  writeFileAtomic(specPath, `${JSON.stringify(job.spec, null, 2)}\n`);
  const startedAt = new Date().toISOString();
  const child = spawn(python, localJobArgs(job, specPath, job.outDir, terminationLog, options.processes), {
    cwd: JOBS_PACKAGE_DIR,
    // The job watches this pid and exits when `run` dies, even by SIGKILL.
    env: { ...process.env, PYTHONPATH: JOBS_PACKAGE_DIR, PYTHONUNBUFFERED: '1', MPLBACKEND: 'Agg', TRAINER_AGENT_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  installReaper();
  running.add(child);
  const writeState = (state: JobState) => writeFileAtomic(join(job.outDir, 'job-state.json'), `${JSON.stringify(state, null, 2)}\n`);
  writeState({ name: job.name, kind: job.kind, state: 'Running', pid: child.pid, startedAt });
  const log = createWriteStream(join(job.outDir, 'job.log'), { flags: 'a' });
  child.stderr!.pipe(log);
  const tail: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 20));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const event = JSON.parse(line) as { event?: string } & JobProgress;
      if (event.event === 'progress') onProgress(event);
    } catch {
      log.write(`${line}\n`);
    }
  });
  const code = await new Promise<number>((done) => child.on('close', (c, signal) => done(c ?? (signal ? 128 : 1))));
  running.delete(child);
  log.end();
  const finishedAt = new Date().toISOString();
  const resultPath = join(job.outDir, 'result.json');
  if (code === 0 && existsSync(resultPath)) {
    writeState({ name: job.name, kind: job.kind, state: 'Succeeded', startedAt, finishedAt });
    return { state: 'Succeeded', result: JSON.parse(readFileSync(resultPath, 'utf8')) };
  }
  const message = failureMessage(terminationLog, tail, code);
  writeState({ name: job.name, kind: job.kind, state: 'Failed', message, startedAt, finishedAt });
  return { state: 'Failed', message };
}

function failureMessage(terminationLog: string, tail: string[], code: number): string {
  if (existsSync(terminationLog)) {
    const text = readFileSync(terminationLog, 'utf8');
    try {
      const parsed = JSON.parse(text) as { error?: string };
      if (parsed.error) return parsed.error.slice(0, 2000);
    } catch {
      if (text.trim()) return text.trim().slice(0, 2000);
    }
  }
  return `exit code ${code}: ${tail.slice(-3).join(' | ').slice(0, 1500)}`;
}
