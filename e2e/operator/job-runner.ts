/**
 * Plays the kubelet's part for job pods: kwok keeps pods annotated `traineragent.io/hold` Running;
 * this runner executes each held pod's REAL command (python -m trainer_agent_jobs.<kind> ...) on
 * this machine with the job virtualenv, then reports the exit code and termination message through
 * `finishPod`, exactly what the kubelet would write into the pod's status.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { HOLD_ANNOTATION, finishPod, repoRoot } from '../cluster/cluster.js';

const TERMINATION_LOG = '/dev/termination-log';

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
    await Promise.allSettled([...this.active]);
  }

  private async execute(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0]!;
    const command = [...(container.command ?? []), ...(container.args ?? [])];
    const termination = join(mkdtempSync(join(tmpdir(), 'ta-term-')), 'termination-log');
    // The image's `python` is the job virtualenv's here; the termination log is a file we read back.
    const argv = command.map((arg) => (arg === TERMINATION_LOG ? termination : arg));
    if (argv[0] === 'python') argv[0] = this.python;
    const started = Date.now();
    const jobsDir = join(repoRoot, 'images', 'jobs');
    this.log(`Running pod ${name}: ${argv.slice(1).join(' ')}`);
    const exitCode = await new Promise<number>((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        cwd: jobsDir,
        env: { ...process.env, PYTHONPATH: jobsDir, PYTHONUNBUFFERED: '1', MPLBACKEND: 'Agg', ...Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined && !['HOME', 'PYTHONPATH'].includes(e.name)).map((e) => [e.name, e.value!])) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let tail = '';
      child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
      child.on('close', (code) => {
        if (code !== 0) this.log(`pod ${name} exited ${code}: ${tail.slice(-800)}`);
        resolve(code ?? 1);
      });
    });
    const message = existsSync(termination) ? readFileSync(termination, 'utf8').slice(0, 4096) : '';
    const seconds = (Date.now() - started) / 1000;
    this.runs.push({ pod: name, kind: pod.metadata?.labels?.['traineragent.io/job-kind'] ?? '?', exitCode, message, node: pod.spec?.nodeName, seconds });
    this.log(`Finished pod ${name} with exit ${exitCode} in ${seconds.toFixed(1)}s`);
    await finishPod(this.namespace, name, exitCode, message, this.kc);
  }
}
