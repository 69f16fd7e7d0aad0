import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Brain } from '../../agents/brain/brain.js';
import type { Framework } from '../../agents/model/catalog.js';
import type { TrainingRequest, TrainingRequestStatus } from '../api/training-request.js';
import { reconcile } from '../pipeline/reconcile.js';
import type { Action, JobObservation, ObservedServing } from '../pipeline/types.js';
import { ConvertJobResult } from '../../agents/jobs/convert-spec.js';
import { observeLocalJobs, runLocalJob, SERVED_PROFILE_FILE } from './jobs.js';
import { calibrateServedProfile } from './serve/calibrate.js';
import type { ProgressReporter } from './progress.js';
import { writeReport } from './report.js';
import { checkServable } from './serve-check.js';
import { observeLocalSources } from './sources.js';
import { writeStatus } from './state.js';

/** What the local loop needs. */
export interface LocalRunOptions {
  request: TrainingRequest;
  /** `DIR/<namespace>/<name>/`. */
  dir: string;
  /** Folder of the request file, for `file:relative` URIs. */
  requestFileDir: string;
  brain: Brain;
  /** The job environment's python for a runtime (built on first use). */
  python: (runtime: Framework) => string;
  /** Frameworks training jobs may use here. */
  frameworks: Framework[];
  progress: ProgressReporter;
  /** Port `trainer-agent serve` will use, for the endpoint URL. */
  servePort: number;
  /** Most loop turns, a guard against a pipeline that never settles. */
  maxSteps?: number;
  /** Torch training jobs run in this many local processes (torchrun, DistributedDataParallel over gloo). */
  processes?: number;
}

/** The conditions that say where a request stands overall (exactly one is True). */
const OVERALL_CONDITIONS = new Set(['Reconciling', 'Stalled', 'AwaitingInput', 'Ready']);

/** Exit codes of `trainer-agent run`. */
export const EXIT = { Ready: 0, Failed: 1, AwaitingInput: 2, Rejected: 3 } as const;

/** The exit code for a settled status. */
export function exitCodeFor(status: TrainingRequestStatus): number {
  if (status.phase === 'Ready') return EXIT.Ready;
  if (status.phase === 'Rejected') return EXIT.Rejected;
  if (status.conditions?.some((c) => c.type === 'AwaitingInput' && c.status === 'True')) return EXIT.AwaitingInput;
  return EXIT.Failed;
}

/**
 * The local backend's loop: observe (sources, jobs on disk, serving check) → reconcile → act
 * (run jobs as children, write files, check the model serves) → write status.json, until the
 * pipeline settles. Killing it at any point loses only the running job, which reruns next time.
 */
export async function runLocally(options: LocalRunOptions): Promise<TrainingRequestStatus> {
  const { dir, progress } = options;
  let request = options.request;
  let serving: ObservedServing | undefined;
  let lastPhase = request.status?.phase;
  for (let step = 0; step < (options.maxSteps ?? 100); step += 1) {
    const observed = {
      artifactRoot: dir,
      sources: observeLocalSources(request.spec.data ?? [], options.requestFileDir),
      jobs: observeLocalJobs(join(dir, 'jobs')),
      ...(serving ? { serving } : {}),
      gpuAvailable: false,
      frameworks: options.frameworks,
    };
    const { actions, status, requeue } = await reconcile(request, observed, { brain: options.brain, now: new Date() });
    writeStatus(dir, status);
    request = { ...request, status };
    if (status.phase !== lastPhase) {
      const overall = status.conditions?.find((c) => c.status === 'True' && OVERALL_CONDITIONS.has(c.type));
      progress.line(`Phase ${status.phase}${overall?.message ? `: ${overall.message}` : ''}`);
      lastPhase = status.phase;
    }
    let acted = false;
    for (const action of actions) acted = (await act(action, options, serving, (s) => (serving = s))) || acted;
    if (!requeue && !acted) {
      writeReport(dir, status);
      return status;
    }
  }
  throw new Error('the pipeline did not settle; see status.json');
}

/**
 * Measure the converted model through the local KServe v2 server (closed-loop sweep plus an
 * open-loop probe) and record the profile beside the job's result, where observation picks it up.
 */
async function measureServedPath(outDir: string, result: unknown, progress: ProgressReporter): Promise<void> {
  const converted = ConvertJobResult.safeParse(result);
  if (!converted.success) return;
  progress.line('Measuring the converted model through the local KServe v2 server...');
  try {
    const { profile, closedLoopSaturationQps } = await calibrateServedProfile({
      repositoryDir: converted.data.repositoryDir,
      model: converted.data.modelName,
      referencePredictions: isAbsolute(converted.data.referencePredictions) ? converted.data.referencePredictions : join(outDir, converted.data.referencePredictions),
    });
    writeFileSync(join(outDir, SERVED_PROFILE_FILE), `${JSON.stringify(profile, null, 2)}\n`);
    progress.line(`Measured ${profile.saturationQps.toFixed(0)} req/s sustainable over HTTP (closed loop ${closedLoopSaturationQps.toFixed(0)} req/s), service time ${profile.serviceTimeMs.toFixed(2)} ms`);
  } catch (error) {
    progress.line(`Warning: could not measure the served path (${(error as Error).message}); sizing from the conversion job's benchmark`);
  }
}

/** Carry out one action; true when it changed what the next observation will see. */
async function act(action: Action, options: LocalRunOptions, serving: ObservedServing | undefined, setServing: (s: ObservedServing) => void): Promise<boolean> {
  const { dir, progress } = options;
  switch (action.kind) {
    case 'event':
      appendFileSync(join(dir, 'events.jsonl'), `${JSON.stringify({ time: new Date().toISOString(), ...action })}\n`);
      progress.line(`${action.type === 'Warning' ? 'Warning' : 'Event'} ${action.reason}: ${action.message}`);
      return false;
    case 'writeFile':
      mkdirSync(dirname(action.path), { recursive: true });
      writeFileSync(action.path, action.content);
      return false;
    case 'runJob': {
      const stage = action.job.kind.replace(/^generation\./, '');
      const label = stage === 'train' ? `Training attempt ${action.job.attempt}` : stage === 'data' ? 'Preparing data' : 'Converting';
      progress.line(`Started job ${action.job.name}`);
      progress.jobStarted();
      const python = options.python(action.job.runtime);
      const observed: JobObservation = await runLocalJob(action.job, python, (p) => progress.progress(label, p), { processes: options.processes ?? 1 });
      progress.line(`Finished job ${action.job.name}: ${observed.state}${observed.message ? ` (${observed.message})` : ''}`);
      if (action.job.kind === 'convert' && observed.state === 'Succeeded') await measureServedPath(action.job.outDir, observed.result, progress);
      return true;
    }
    case 'serve': {
      if (serving?.model === action.model) return false;
      const result = await checkServable(action.repositoryDir, action.model);
      setServing({ ready: result.ok, url: `http://127.0.0.1:${options.servePort}`, model: action.model, ...(result.message ? { message: result.message } : {}) });
      return true;
    }
  }
}
