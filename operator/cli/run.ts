import { describeBrain } from '../pipeline/brain-status.js';
import { dirname, join, resolve } from 'node:path';
import type { Brain } from '../../agents/brain/brain.js';
import type { Framework } from '../../agents/model/catalog.js';
import type { TrainingRequest, TrainingRequestStatus } from '../api/training-request.js';
import { exitCodeFor, runLocally } from '../local/backend.js';
import { acquireLock } from '../local/lock.js';
import { ProgressReporter } from '../local/progress.js';
import { ensureJobPython, localFrameworks } from '../local/python-env.js';
import { readStatus, readStoredRequest, requestDir, specHash, writeStoredRequest } from '../local/state.js';
import { BOUNDS } from '../../agents/task/bounds.js';
import { UsageError } from './args.js';
import { loadRequestFile } from './request-file.js';

/** Options of `trainer-agent run`. */
export interface RunOptions {
  stateDir: string;
  port: number;
  brain: Brain;
  log: (line: string) => void;
  /** Processes a torch training job runs in (torchrun on this machine, gloo); default 1. */
  processes?: number;
}

/** `--processes N`: an integer from 1 to the GPUs one node may have (each process takes a share of the CPU cores). */
export function processesOption(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > BOUNDS.gpusPerNode) throw new UsageError(`--processes must be a whole number from 1 to ${BOUNDS.gpusPerNode} (got ${JSON.stringify(text)})`);
  return n;
}

/**
 * The rules the API server's CEL enforces in a cluster, applied locally: the requirement is
 * immutable and messages are append-only. Nothing stored is changed when they fail.
 */
export function checkUpdate(previous: TrainingRequest | undefined, next: TrainingRequest): void {
  if (!previous) return;
  if (previous.spec.requirement !== next.spec.requirement) {
    throw new Error('spec.requirement is immutable; create a new TrainingRequest (another metadata.name) for a new requirement');
  }
  const before = previous.spec.messages ?? [];
  const after = next.spec.messages ?? [];
  if (before.some((m, i) => after[i] !== m)) throw new Error('spec.messages is append-only: add new messages at the end, do not edit or remove earlier ones');
}

/** One-paragraph summary of where a request stands, for the end of `run` and for `status`. */
export function summarise(name: string, dir: string, status: TrainingRequestStatus): string {
  const lines = [`${name}: ${status.phase}${status.metric ? ` — ${status.metric}` : ''}`];
  const stalled = status.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled) lines.push(`  ${stalled.reason}: ${stalled.message}`);
  if (status.question) lines.push(`  Question: ${status.question}`);
  lines.push(`  ${describeBrain(status.brain)}`);
  if (status.estimate) {
    const e = status.estimate;
    lines.push(`  Estimate: ${e.replicas} replica(s) × ${e.perReplicaQps.toFixed(1)} QPS, ${(e.memoryBytes / 2 ** 20).toFixed(0)} MiB each, ${e.accelerator}` +
      (e.reliable === false ? ` — unreliable: the measurement windows disagreed by ${Math.round(100 * (e.measurementSpread ?? 0))}%, rerun on a quiet machine` : ''));
  }
  if (status.endpoint) lines.push(`  Endpoint: ${status.endpoint.url} (start it with: trainer-agent serve ${name})`);
  if (status.apiDoc) lines.push(`  API doc: ${status.apiDoc.uri}`);
  lines.push(`  Report: ${join(dir, 'report.html')}`, `  Status: ${join(dir, 'status.json')}`);
  return lines.join('\n');
}

/** `trainer-agent run <request.yaml>`: run the local pipeline until it settles. */
export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const request = loadRequestFile(file);
  const namespace = request.metadata.namespace ?? 'default';
  const dir = requestDir(resolve(options.stateDir), namespace, request.metadata.name);
  const release = acquireLock(dir);
  try {
    const stored = readStoredRequest(dir);
    checkUpdate(stored?.request, request);
    const hash = specHash(request.spec);
    const generation = !stored ? 1 : stored.specHash === hash ? stored.generation : stored.generation + 1;
    writeStoredRequest(dir, { generation, specHash: hash, request });
    const status = readStatus(dir);
    const progress = new ProgressReporter();
    progress.line(`Running ${namespace}/${request.metadata.name} (generation ${generation}, ${options.brain.kind} brain); state in ${dir}`);
    const pythons = new Map<Framework, string>();
    const final = await runLocally({
      request: { ...request, metadata: { ...request.metadata, namespace, generation }, ...(status ? { status } : {}) },
      dir,
      requestFileDir: dirname(resolve(file)),
      brain: options.brain,
      python: (runtime) => pythons.get(runtime) ?? pythons.set(runtime, ensureJobPython(runtime, options.log)).get(runtime)!,
      frameworks: localFrameworks(),
      progress,
      servePort: options.port,
      ...(options.processes && options.processes > 1 ? { processes: options.processes } : {}),
    });
    process.stdout.write(`${summarise(request.metadata.name, dir, final)}\n`);
    return exitCodeFor(final);
  } finally {
    release();
  }
}
