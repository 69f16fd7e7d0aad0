/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
/**
 * The two engines whose controllers cannot run here, played at their one edge, against their REAL
 * APIs on the real API server:
 *
 * - Kueue (sigs.k8s.io/kueue v0.17.0, Workload CRD applied): its admission webhook is played by a
 *   real MutatingAdmissionPolicy that creates Jobs with a queue label suspended (what Kueue's
 *   webhook does); its scheduler by {@link PlayedKueue}, which creates the Workload Kueue would
 *   (owned by the Job, labelled with its uid), reports a quota reason while it holds it, and admits
 *   it (QuotaReserved and Admitted True, then the Job unsuspended) when the test says so.
 * - Kubeflow Trainer (v2.0.0 CRDs applied; its controller needs JobSet, which is not served): the
 *   TrainJob the operator created is validated by the API server against Trainer's own schema;
 *   {@link PlayedTrainer} then does what the Trainer and JobSet controllers would: runs the node
 *   commands the TrainJob describes (one process tree per node, with the PET_* variables Trainer
 *   injects), and sets its Complete or Failed condition.
 */
import { BatchV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, localCommand, runLocal } from './job-runner.js';

const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const workloads = { group: 'kueue.x-k8s.io', version: 'v1beta2', plural: 'workloads' };
const trainJobs = { group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainjobs' };

/** Kueue's mutating webhook as a MutatingAdmissionPolicy, limited to one namespace. */
export function kueueWebhookPolicy(namespace: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: e2e-kueue-suspend-${namespace}
spec:
  matchConstraints:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: ${namespace}}
    resourceRules:
      - {apiGroups: [batch], apiVersions: [v1], operations: [CREATE], resources: [jobs]}
  matchConditions:
    - name: queued
      expression: "has(object.metadata.labels) && '${QUEUE_LABEL}' in object.metadata.labels"
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: "Object{spec: Object.spec{suspend: true}}"
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: e2e-kueue-suspend-${namespace}
spec:
  policyName: e2e-kueue-suspend-${namespace}
`;
}

const condition = (type: string, status: boolean, reason: string, message: string) => ({ type, status: status ? 'True' : 'False', reason, message, lastTransitionTime: new Date().toISOString() });

/** Kueue's scheduler, played: a Workload per queued Job, a quota reason while held, admission on request. */
export class PlayedKueue {
  /** Jobs admitted, in order. */
  readonly admitted: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Set<string>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    /** Whether to admit this Job now (false: hold it, with `reason` as the Workload's message). */
    public admit: (job: V1Job) => boolean,
    private readonly reason: string,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`[played-kueue] ${l}\n`),
  ) {}

  start(): void {
    const batch = this.kc.makeApiClient(BatchV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const poll = async () => {
      try {
        const jobs = (await batch.listNamespacedJob({ namespace: this.namespace, labelSelector: QUEUE_LABEL })).items.filter((j) => j.spec?.suspend);
        for (const job of jobs) {
          const name = `job-${job.metadata!.name}`.slice(0, 63);
          if (!this.seen.has(name)) {
            await custom.createNamespacedCustomObject({
              ...workloads,
              namespace: this.namespace,
              body: {
                apiVersion: 'kueue.x-k8s.io/v1beta2',
                kind: 'Workload',
                metadata: { name, labels: { 'kueue.x-k8s.io/job-uid': job.metadata!.uid! }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }] },
                spec: { queueName: job.metadata!.labels![QUEUE_LABEL], podSets: [{ name: 'main', count: job.spec!.parallelism ?? 1, template: job.spec!.template }] },
              },
            });
            await custom.patchNamespacedCustomObjectStatus({ ...workloads, namespace: this.namespace, name, body: { status: { conditions: [condition('QuotaReserved', false, 'Pending', this.reason)] } } }, merge);
            this.seen.add(name);
            this.log(`Created Workload ${name} for Job ${job.metadata!.name}: ${this.reason}`);
          }
          if (this.admit(job)) {
            await custom.patchNamespacedCustomObjectStatus({ ...workloads, namespace: this.namespace, name, body: { status: { conditions: [condition('QuotaReserved', true, 'QuotaReserved', 'Quota reserved in ClusterQueue e2e'), condition('Admitted', true, 'Admitted', 'The workload is admitted')] } } }, merge);
            await batch.patchNamespacedJob({ namespace: this.namespace, name: job.metadata!.name!, body: { spec: { suspend: false } } }, merge);
            this.admitted.push(job.metadata!.name!);
            this.log(`Admitted Job ${job.metadata!.name}`);
          }
        }
      } catch (error) {
        this.log(`poll failed: ${(error as Error).message}`);
      }
      this.timer = setTimeout(() => void poll(), 300);
    };
    void poll();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** What the played Trainer does with a TrainJob: run its nodes, or fail it with a JobSet-style message. */
export type TrainJobOutcome = { run: true } | { fail: string };

/** One node of a TrainJob the played Trainer ran. */
export interface NodeRun {
  trainJob: string;
  rank: number;
  exitCode: number;
  seconds: number;
  message: string;
}

/** Kubeflow Trainer's controller (and JobSet's), played for TrainJobs in one namespace. */
export class PlayedTrainer {
  readonly runs: NodeRun[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = new Set<string>();
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly python: string,
    public outcome: (trainJob: Record<string, any>) => TrainJobOutcome,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`[played-trainer] ${l}\n`),
  ) {}

  start(): void {
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const poll = async () => {
      try {
        const list = (await custom.listNamespacedCustomObject({ ...trainJobs, namespace: this.namespace })) as { items: Record<string, any>[] };
        for (const tj of list.items) {
          const name = tj['metadata'].name as string;
          if (this.started.has(name) || (tj['status']?.conditions ?? []).some((c: { type: string }) => c.type === 'Complete' || c.type === 'Failed')) continue;
          this.started.add(name);
          const run = this.play(custom, tj).finally(() => this.active.delete(run));
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

  private async play(custom: CustomObjectsApi, tj: Record<string, any>): Promise<void> {
    const name = tj['metadata'].name as string;
    const outcome = this.outcome(tj);
    const setCondition = (type: 'Complete' | 'Failed', reason: string, message: string) =>
      custom.patchNamespacedCustomObjectStatus({ ...trainJobs, namespace: this.namespace, name, body: { status: { conditions: [condition(type, true, reason, message)] } } }, merge);
    if ('fail' in outcome) {
      await setCondition('Failed', 'FailedJobs', outcome.fail);
      this.log(`Failed TrainJob ${name}: ${outcome.fail}`);
      return;
    }
    const trainer = tj['spec'].trainer as { command: string[]; args: string[]; env?: { name: string; value?: string }[]; numNodes: number; resourcesPerNode?: { limits?: Record<string, string> } };
    const gpus = Number(trainer.resourcesPerNode?.limits?.['nvidia.com/gpu'] ?? 0);
    // What Trainer's torch plugin injects (torch-distributed runtime, numProcPerNode auto).
    const pet = (rank: number) => [
      { name: 'PET_NNODES', value: String(trainer.numNodes) },
      { name: 'PET_NPROC_PER_NODE', value: String(Math.max(1, gpus)) },
      { name: 'PET_NODE_RANK', value: String(rank) },
      { name: 'PET_MASTER_ADDR', value: `${name}-node-0-0.${name}` },
      { name: 'PET_MASTER_PORT', value: '29500' },
    ];
    const port = freePort();
    const nodes = Array.from({ length: trainer.numNodes }, async (_, rank) => {
      const termination = join(mkdtempSync(join(tmpdir(), 'ta-tj-')), 'termination-log');
      const cmd = await localCommand(this.python, [...trainer.command, ...trainer.args], [...(trainer.env ?? []), ...pet(rank)], undefined, termination, () => port);
      const started = Date.now();
      this.log(`Running TrainJob ${name} node ${rank}: ${cmd.argv.slice(1).join(' ')}`);
      const { code, tail } = await runLocal(cmd);
      const message = existsSync(termination) ? readFileSync(termination, 'utf8') : tail.slice(-500);
      this.runs.push({ trainJob: name, rank, exitCode: code, seconds: (Date.now() - started) / 1000, message });
      return { rank, code, message };
    });
    const done = await Promise.all(nodes);
    const failed = done.find((d) => d.code !== 0);
    if (failed) await setCondition('Failed', 'FailedJobs', `jobset ${name} failed: node ${failed.rank} exited ${failed.code}: ${failed.message.slice(0, 500)}`);
    else await setCondition('Complete', 'JobsCompleted', `jobset ${name} completed`);
    this.log(`TrainJob ${name}: ${failed ? 'Failed' : 'Complete'}`);
  }
}
