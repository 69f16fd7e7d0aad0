/**
 * Plays the kubelet's part for job pods: kwok keeps pods annotated `traineragent.io/hold` Running;
 * this runner executes each held pod's REAL command (python -m trainer_agent_jobs.<kind> ..., or
 * torchrun ... -m trainer_agent_jobs.train ...) on this machine with the job virtualenv, with the
 * pod's environment (downward-API fields resolved from the pod, as the kubelet does), then reports
 * the exit code and termination message through `finishPod`, exactly what the kubelet would write
 * into the pod's status. A pod deleted while its command runs has the command stopped.
 *
 * Cluster DNS is played too: torchrun's `PET_MASTER_ADDR` (`<job>-0.<service>`, a pod name only
 * cluster DNS resolves) becomes 127.0.0.1, and its port one free on this machine, the same for every
 * pod of a group, so the processes of different pods rendezvous over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1EnvVar, type V1Pod } from '@kubernetes/client-node';
import { HOLD_ANNOTATION, finishPod, repoRoot } from '../cluster/cluster.js';

const TERMINATION_LOG = '/dev/termination-log';

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The value of a downward-API field path of a pod (`metadata.annotations['k']`, `metadata.labels['k']`, `metadata.name`, `metadata.namespace`). */
export function fieldOf(pod: V1Pod, path: string): string | undefined {
  const m = /^metadata\.(annotations|labels)\['([^']+)'\]$/.exec(path);
  if (m) return (m[1] === 'annotations' ? pod.metadata?.annotations : pod.metadata?.labels)?.[m[2]!];
  if (path === 'metadata.name') return pod.metadata?.name;
  if (path === 'metadata.namespace') return pod.metadata?.namespace;
  return undefined;
}

/** How a job command runs on this machine: argv with the venv's python/torchrun, and the environment. */
export interface LocalCommand {
  argv: string[];
  env: Record<string, string>;
}

/**
 * The local command of a container: `python`/`torchrun` from the job virtualenv, the termination log
 * a file, the container's variables (downward API resolved from `pod`), PET_MASTER_ADDR on loopback
 * with a port from `portFor` (one per group).
 */
export async function localCommand(python: string, command: string[], env: V1EnvVar[], pod: V1Pod | undefined, termination: string, portFor: (master: string) => Promise<number>): Promise<LocalCommand> {
  const argv = command.map((arg) => (arg === TERMINATION_LOG ? termination : arg));
  if (argv[0] === 'python') argv[0] = python;
  else if (argv[0] === 'torchrun') argv[0] = join(dirname(python), 'torchrun');
  const vars: Record<string, string> = {};
  for (const e of env) {
    if (['HOME', 'PYTHONPATH'].includes(e.name)) continue;
    const value = e.value ?? (e.valueFrom?.fieldRef && pod ? fieldOf(pod, e.valueFrom.fieldRef.fieldPath) : undefined);
    if (value !== undefined) vars[e.name] = value;
  }
  if (vars['PET_MASTER_ADDR'] && !/^\d+\.\d+\.\d+\.\d+$/.test(vars['PET_MASTER_ADDR'])) {
    vars['PET_MASTER_PORT'] = String(await portFor(vars['PET_MASTER_ADDR']));
    vars['PET_MASTER_ADDR'] = '127.0.0.1';
  }
  return { argv, env: vars };
}

/** Run a local command like a container: exit code and the stderr tail. */
export function runLocal(cmd: LocalCommand, onStart: (child: ChildProcess) => void = () => undefined): Promise<{ code: number; tail: string }> {
  const jobsDir = join(repoRoot, 'images', 'jobs');
  return new Promise((resolve) => {
    const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
      cwd: jobsDir,
      env: { ...process.env, PYTHONPATH: jobsDir, PYTHONUNBUFFERED: '1', MPLBACKEND: 'Agg', ...cmd.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    onStart(child);
    let tail = '';
    child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 137 : 1), tail }));
  });
}

/** One executed pod. */
export interface RunRecord {
  pod: string;
  kind: string;
  exitCode: number;
  message: string;
  node: string | undefined;
  seconds: number;
}

export class JobRunner {
  readonly runs: RunRecord[] = [];
  private readonly started = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly active = new Set<Promise<void>>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly ports = new Map<string, Promise<number>>();
  /** Return false to keep a pod held for now (e.g. to restart the operator mid-training). */
  gate: (pod: V1Pod) => boolean = () => true;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly python: string,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`[job-runner] ${l}\n`),
  ) {}

  start(): void {
    const core = this.kc.makeApiClient(CoreV1Api);
    const poll = async () => {
      try {
        const pods = await core.listNamespacedPod({ namespace: this.namespace });
        // A pod deleted (its Job failed or was stopped at its deadline) stops its command, as the kubelet would.
        for (const [name, child] of this.children) {
          const pod = pods.items.find((p) => p.metadata?.name === name);
          if (!pod || pod.metadata?.deletionTimestamp) child.kill('SIGTERM');
        }
        for (const pod of pods.items) {
          const name = pod.metadata!.name!;
          if (this.started.has(name) || pod.status?.phase !== 'Running' || pod.metadata?.annotations?.[HOLD_ANNOTATION] !== 'true' || pod.metadata?.deletionTimestamp) continue;
          if (!this.gate(pod)) continue;
          this.started.add(name);
          const run = this.execute(pod).finally(() => this.active.delete(run));
          this.active.add(run);
        }
      } catch (error) {
        this.log(`poll failed: ${(error as Error).message}`);
      }
      this.timer = setTimeout(() => void poll(), 300);
    };
    void poll();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    for (const child of this.children.values()) child.kill('SIGTERM');
    await Promise.allSettled([...this.active]);
  }

  /** One free loopback port per torchrun master address (every pod of a group gets the same). */
  private portFor(master: string): Promise<number> {
    if (!this.ports.has(master)) this.ports.set(master, freePort());
    return this.ports.get(master)!;
  }

  private async execute(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0]!;
    const command = [...(container.command ?? []), ...(container.args ?? [])];
    const termination = join(mkdtempSync(join(tmpdir(), 'ta-term-')), 'termination-log');
    // The image's `python` is the job virtualenv's here; the termination log is a file we read back.
    const cmd = await localCommand(this.python, command, container.env ?? [], pod, termination, (master) => this.portFor(master));
    const started = Date.now();
    this.log(`Running pod ${name}: ${cmd.argv.slice(1).join(' ')}`);
    const { code: exitCode, tail } = await runLocal(cmd, (child) => this.children.set(name, child));
    this.children.delete(name);
    if (exitCode !== 0) this.log(`pod ${name} exited ${exitCode}: ${tail.slice(-800)}`);
    const message = existsSync(termination) ? readFileSync(termination, 'utf8').slice(0, 4096) : '';
    const seconds = (Date.now() - started) / 1000;
    this.runs.push({ pod: name, kind: pod.metadata?.labels?.['traineragent.io/job-kind'] ?? '?', exitCode, message, node: pod.spec?.nodeName, seconds });
    this.log(`Finished pod ${name} with exit ${exitCode} in ${seconds.toFixed(1)}s`);
    try {
      await finishPod(this.namespace, name, exitCode, message, this.kc);
    } catch (error) {
      this.log(`pod ${name} is gone: ${(error as Error).message}`);
    }
  }
}
