/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Brain } from '../../agents/brain/brain.js';
import { TrainingRequest, type TrainingRequestStatus } from '../api/training-request.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { setOverall } from '../pipeline/conditions.js';
import type { ReconcileDeps, ReconcileResult } from '../pipeline/reconcile.js';
import { apiDocPath, jobOutDir } from '../pipeline/stages/paths.js';
import type { Action, JobObservation, Observed } from '../pipeline/types.js';
import { ArtifactsUnavailableError, type ArtifactStore } from './artifacts.js';
import { buildEvent } from './builders/event.js';
import { buildGroupJob } from './builders/group-job.js';
import { GROUP_LABEL, QUEUE_LABEL, RETRY_LABEL, buildJob, type DataMount } from './builders/job.js';
import { buildTrainJob, type TrainJob } from './builders/train-job.js';
import { LEGACY_FINALIZER, SOURCES_ANNOTATION, servingName, type Owner } from './builders/meta.js';
import { buildApiDocConfigMap, buildTritonDeployment, buildTritonHpa, buildTritonService, servingUrl } from './builders/serving.js';
import { mergePatch } from './builders/status-patch.js';
import type { Capabilities, ClusterApi, ClusterView } from './client.js';
import type { OperatorConfig } from './config.js';
import { jobState, observeJob, observeServing, observeTrainJob } from './observe.js';
import type { ResolvedSources } from './sources.js';

/** How often a request whose Job waits in a Kueue queue reads the queue's reason again. */
export const QUEUED_RECHECK_SECONDS = 30;

/** The pipeline's entry point (injected so the controller is tested without the agents). */
export type ReconcileFn = (request: TrainingRequest, observed: Observed, deps: ReconcileDeps) => Promise<ReconcileResult>;

/** What the controller needs. */
export interface ControllerDeps {
  api: ClusterApi;
  /** Informer caches: what every reconcile reads. */
  view: ClusterView;
  config: OperatorConfig;
  store: ArtifactStore;
  log: Logger;
  metrics?: OperatorMetrics;
  reconcile: ReconcileFn;
  /** Where the request's data sources stand (staged off the event loop). */
  sources: { resolve(request: TrainingRequest): ResolvedSources; record?(request: TrainingRequest): string; forget?(requestKey: string): void };
  brainFor: (request: TrainingRequest) => Brain;
  now?: () => Date;
  random?: () => number;
  /** This replica's name, for Events. */
  instance?: string;
  /** Optional APIs the cluster serves (Kubeflow Trainer, Kueue), found by discovery at start. */
  capabilities?: Capabilities;
}

/** How a multi-node training job runs here: a TrainJob (Kubeflow Trainer) or an Indexed Job with a headless Service. */
export function distributedEngine(config: OperatorConfig, capabilities: Capabilities | undefined): 'trainjob' | 'indexed-job' {
  const engine = config.jobs.distributed.engine;
  if (engine !== 'auto') return engine;
  return capabilities?.trainJobs ? 'trainjob' : 'indexed-job';
}

/** The retry of a group's Job or TrainJob (its label; 0 for the first run). */
function retryOf(object: { metadata?: { labels?: Record<string, string> } }): number {
  return Number(object.metadata?.labels?.[RETRY_LABEL] ?? 0) || 0;
}

/** What one reconcile asks of the queue, and what it cost. */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
  /** API calls this reconcile made (the scale benchmark's accounting). */
  calls?: { reads: number; writes: number };
  phase?: string;
}

/** Results of finished Jobs, by Job uid: they never change, so each is read from the volume once. */
class ResultCache {
  private readonly entries = new Map<string, unknown>();
  constructor(private readonly max = 512) {}
  get(uid: string): unknown {
    const value = this.entries.get(uid);
    if (value !== undefined) {
      this.entries.delete(uid);
      this.entries.set(uid, value);
    }
    return value;
  }
  set(uid: string, value: unknown): void {
    this.entries.set(uid, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * One reconcile of one TrainingRequest, driven by its `namespace/name` key: read it and its Jobs,
 * Pods and serving Deployment from the informer caches, let the pipeline decide, act (Jobs by
 * create with deterministic names, serving and the API doc by server-side apply — skipped when
 * nothing changed —, Events), and patch `/status` only when it changed. Never writes spec.
 */
export class TrainingRequestController {
  private readonly results = new ResultCache();
  /** Hash of what was last applied per object, and when: unchanged objects are not re-applied. */
  private readonly applied = new Map<string, { hash: string; at: number }>();

  constructor(private readonly deps: ControllerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const calls = { reads: 0, writes: 0 };
    const api = counting(this.deps.api, calls);
    const { view, log, metrics } = this.deps;
    const key = `${namespace}/${name}`;
    const raw = view.request(namespace, name);
    if (!raw) {
      metrics?.phase(key, namespace, undefined);
      this.deps.sources.forget?.(key);
      for (const k of this.applied.keys()) if (k.startsWith(`${key}/`)) this.applied.delete(k);
      log.debug({ namespace, name }, 'Found no TrainingRequest; it was deleted');
      return { calls };
    }
    const parsed = TrainingRequest.safeParse(raw);
    if (!parsed.success) {
      await this.reportInvalid(api, raw, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return { calls };
    }
    const request = parsed.data;
    const finalizers = request.metadata.finalizers ?? [];
    if (request.metadata.deletionTimestamp) {
      // Children go with their owner (owner references); nothing outside the cluster to clean up.
      if (finalizers.includes(LEGACY_FINALIZER)) {
        await api.patchRequestMetadata(namespace, name, { resourceVersion: request.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== LEGACY_FINALIZER) });
        log.info({ namespace, name }, `Removed finalizer ${LEGACY_FINALIZER} left by an older version`);
      }
      return { calls };
    }

    const { observed, dataMounts, deploymentReplicas } = await this.observe(request);
    const brain = this.deps.brainFor(request);
    const result = await this.deps.reconcile(request, observed, { brain, now: this.now() });
    const owner: Owner = { name, namespace, uid: request.metadata.uid ?? '' };
    await this.act(api, request, owner, result.actions, dataMounts, deploymentReplicas);
    await this.writeStatus(api, request, raw['status'], result.status);
    metrics?.phase(key, namespace, result.status.phase);
    const outcome: ReconcileOutcome = { calls, ...(result.status.phase ? { phase: result.status.phase } : {}) };
    if (result.requeue) {
      // A safety net only: watch events on Jobs, Pods and the Deployment drive progress. Kueue's
      // reason for holding a Job lives in its Workload, which nothing here watches: ask again soon.
      const queued = Object.values(observed.jobs).some((j) => j.waiting?.reason === 'Queued');
      const base = Math.min(this.deps.config.requeueWhileRunningSeconds, queued ? QUEUED_RECHECK_SECONDS : Infinity) * 1000;
      outcome.requeueAfterMs = Math.round(base * (0.8 + 0.4 * (this.deps.random ?? Math.random)()));
    }
    return outcome;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  /** Everything the pipeline reads: caches, staged sources, and results of finished Jobs. */
  private async observe(request: TrainingRequest): Promise<{ observed: Observed; dataMounts: DataMount[]; deploymentReplicas?: number }> {
    const { view, store } = this.deps;
    const { namespace, name } = request.metadata;
    const root = store.root(namespace, name);
    const resolved = this.deps.sources.resolve(request);
    const observedJobs: Record<string, JobObservation> = {};
    const now = this.now();
    // A multi-node group is known by its pipeline name; each retry is a Job (or TrainJob) of its own.
    const groups = new Map<string, { newest: V1Job | TrainJob; seconds: number }>();
    const joinGroup = (group: string, object: V1Job | TrainJob, observation: JobObservation) => {
      const seen = groups.get(group);
      const seconds = (seen?.seconds ?? 0) + (observation.runSeconds ?? 0);
      const newest = !seen || retryOf(object) > retryOf(seen.newest) ? object : seen.newest;
      groups.set(group, { newest, seconds });
      if (newest === object) observedJobs[group] = { ...observation, retry: retryOf(object) };
      observedJobs[group]!.runSeconds = seconds;
    };
    for (const job of view.jobs(namespace, name)) {
      const jobName = job.metadata!.name!;
      if (!isOwnedBy(job, request.metadata.uid)) continue;
      const group = job.metadata?.labels?.[GROUP_LABEL];
      const outName = group ?? jobName;
      const result = jobState(job) === 'Succeeded' ? await this.result(request, job, `${jobOutDir(root, outName)}/result.json`) : undefined;
      const queued = job.spec?.suspend === true && job.metadata?.labels?.[QUEUE_LABEL] && job.metadata.uid ? await this.deps.api.readWorkloadMessage(namespace, job.metadata.uid) : undefined;
      const observation = observeJob(job, view.pods(namespace, jobName), () => result, { now, ...(queued ? { queueMessage: queued } : {}) });
      if (group) joinGroup(group, job, observation);
      else observedJobs[jobName] = observation;
    }
    for (const trainJob of view.trainJobs(namespace, name)) {
      if (!isOwnedBy(trainJob, request.metadata.uid)) continue;
      const group = trainJob.metadata?.labels?.[GROUP_LABEL] ?? trainJob.metadata!.name!;
      const complete = (trainJob.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
      const result = complete ? await this.result(request, trainJob, `${jobOutDir(root, group)}/result.json`) : undefined;
      joinGroup(group, trainJob, observeTrainJob(trainJob, () => result, now));
    }
    const deployment = view.deployment(namespace, servingName(name));
    const serving = observeServing(deployment, { model: name, replicas: request.status?.estimate?.replicas ?? 1 }, servingUrl({ name, namespace }));
    return {
      observed: {
        artifactRoot: root,
        sources: resolved.sources,
        jobs: observedJobs,
        ...(serving ? { serving } : {}),
        gpuAvailable: request.spec.resources?.gpu !== undefined && request.spec.resources.gpu.count !== 0,
        frameworks: this.deps.config.jobs.frameworks,
        maxReplicas: this.deps.config.serving.maxReplicas,
        distributed: { maxGpusPerNode: this.deps.config.jobs.distributed.maxGpusPerNode, maxNodes: this.deps.config.jobs.distributed.maxNodes, groupRetries: this.deps.config.jobs.backoffLimit },
      },
      dataMounts: resolved.mounts,
      ...(deployment?.spec?.replicas !== undefined ? { deploymentReplicas: deployment.spec.replicas } : {}),
    };
  }

  private async result(request: TrainingRequest, job: V1Job | TrainJob, path: string): Promise<unknown> {
    const uid = job.metadata?.uid ?? job.metadata?.name ?? path;
    const cached = this.results.get(uid);
    if (cached !== undefined) return cached;
    const value = await this.deps.store.readJson(request.spec, path);
    if (value !== undefined) this.results.set(uid, value);
    return value;
  }

  /** Carry out the pipeline's actions. */
  private async act(api: ClusterApi, request: TrainingRequest, owner: Owner, actions: Action[], dataMounts: DataMount[], deploymentReplicas: number | undefined): Promise<void> {
    const { config, store, log, metrics } = this.deps;
    const { namespace, name } = owner;
    const apiDir = apiDocPath(store.root(namespace, name)).replace(/\/[^/]+$/, '/');
    const apiFiles: Record<string, string> = {};
    const events: Extract<Action, { kind: 'event' }>[] = [];
    for (const action of actions) {
      switch (action.kind) {
        case 'runJob': {
          const { job } = action;
          // The spec goes onto the artifacts volume before the Job exists, so the pod always finds it.
          await store.writeFile(request.spec, `${job.outDir}/spec.json`, `${JSON.stringify(job.spec, null, 2)}\n`);
          // A data Job records the staged sources it was made from (restarts take them as known).
          const record = job.kind === 'data' || job.kind === 'generation.data' ? this.deps.sources.record?.(request) : undefined;
          const input = { owner, spec: request.spec, job, config, dataMounts, ...(record ? { annotations: { [SOURCES_ANNOTATION]: record } } : {}) };
          let created: { metadata?: { name?: string } } | undefined;
          let what = 'Job';
          if ((job.placement?.nodes ?? 1) > 1 && distributedEngine(config, this.deps.capabilities) === 'trainjob') {
            what = 'TrainJob';
            created = await api.createTrainJob(buildTrainJob(input));
          } else if ((job.placement?.nodes ?? 1) > 1) {
            // The headless Service first: the pods' names must resolve when torchrun starts.
            const group = buildGroupJob(input);
            await api.apply(group.service);
            what = 'Indexed Job';
            created = await api.createJob(group.job);
          } else {
            created = await api.createJob(buildJob(input));
          }
          if (created) {
            metrics?.jobsCreated.inc({ kind: job.kind });
            const createdName = created.metadata?.name ?? job.name;
            log.info({ namespace, name, stage: job.kind, job: createdName, ...(job.attempt ? { attempt: job.attempt } : {}), ...(job.placement ? { nodes: job.placement.nodes, processesPerNode: job.placement.processesPerNode } : {}), ...(job.retry ? { retry: job.retry } : {}) }, `Created ${what} ${createdName}`);
          }
          break;
        }
        case 'writeFile': {
          if (action.path.startsWith(apiDir)) apiFiles[action.path.slice(apiDir.length)] = action.content;
          try {
            await store.writeFile(request.spec, action.path, action.content);
          } catch (error) {
            // The API doc also lands in a ConfigMap; other files need the volume.
            if (!(error instanceof ArtifactsUnavailableError) || !action.path.startsWith(apiDir)) throw error;
          }
          break;
        }
        case 'serve': {
          const autoscaling = config.serving.autoscaling.enabled;
          const replicas = autoscaling ? Math.max(action.estimate.replicas, deploymentReplicas ?? 0) : action.estimate.replicas;
          const input = { owner, spec: request.spec, config, model: action.model, repositoryDir: action.repositoryDir, estimate: action.estimate, replicas };
          const objects: KubernetesObject[] = [buildTritonDeployment(input), buildTritonService(input), ...(autoscaling ? [buildTritonHpa(input)] : [])];
          let appliedAny = false;
          for (const object of objects) appliedAny = (await this.applyIfChanged(api, object, object.kind === 'Deployment' && deploymentReplicas === undefined)) || appliedAny;
          if (appliedAny) log.debug({ namespace, name, stage: 'serving', replicas }, `Applied Deployment ${servingName(name)}`);
          break;
        }
        case 'event':
          events.push(action);
          break;
      }
    }
    if (Object.keys(apiFiles).length) await this.applyIfChanged(api, buildApiDocConfigMap(owner, apiFiles), false);
    for (const event of events) {
      try {
        await api.createEvent(buildEvent({ name, namespace, uid: owner.uid, ...(request.metadata.resourceVersion ? { resourceVersion: request.metadata.resourceVersion } : {}) }, event, new Date(), this.deps.instance));
      } catch (error) {
        log.warn({ namespace, name, reason: event.reason, err: (error as Error).message }, 'Failed to record Event');
      }
      log.info({ namespace, name, reason: event.reason, type: event.type }, event.message);
    }
  }

  /**
   * Server-side apply, unless this process applied the very same object within the resync period
   * (and, for the Deployment, it still exists): re-applying an unchanged object is a write for
   * nothing. After the period it is applied again, which also repairs hand edits and deletions.
   */
  private async applyIfChanged(api: ClusterApi, object: KubernetesObject, missing: boolean): Promise<boolean> {
    const key = `${object.metadata!.namespace}/${object.metadata!.ownerReferences?.[0]?.name ?? ''}/${object.kind}/${object.metadata!.name}`;
    const hash = createHash('sha256').update(JSON.stringify(object)).digest('hex');
    const seen = this.applied.get(key);
    const fresh = seen && Date.now() - seen.at < this.deps.config.resyncSeconds * 1000;
    if (seen?.hash === hash && fresh && !missing) return false;
    await api.apply(object);
    this.applied.set(key, { hash, at: Date.now() });
    return true;
  }

  /** Merge-patch `/status` with what changed; nothing when nothing did. */
  private async writeStatus(api: ClusterApi, request: TrainingRequest, stored: unknown, next: TrainingRequestStatus): Promise<void> {
    const { namespace, name } = request.metadata;
    const plain = JSON.parse(JSON.stringify(next)) as unknown;
    const patch = mergePatch(stored ?? {}, plain);
    if (patch === undefined) return;
    await api.patchRequestStatus(namespace, name, patch);
    const before = request.status?.phase;
    if (before !== next.phase) this.deps.log.info({ namespace, name, stage: next.phase, from: before }, `Updated TrainingRequest phase to ${next.phase}`);
  }

  /** A stored object the schema rejects (the CRD should prevent it): say why in a Stalled condition. */
  private async reportInvalid(api: ClusterApi, raw: Record<string, any>, why: string): Promise<void> {
    const { namespace, name, generation } = raw['metadata'] ?? {};
    const conditions = setOverall(raw['status']?.conditions ?? [], { state: 'Stalled', reason: 'InvalidSpec', message: why.slice(0, 2000) }, this.now(), generation);
    const patch = mergePatch(raw['status'] ?? {}, { ...(raw['status'] ?? {}), observedGeneration: generation, conditions, phase: 'Failed' });
    if (patch !== undefined) await api.patchRequestStatus(namespace, name, patch);
    this.deps.log.warn({ namespace, name, err: why }, 'Rejected TrainingRequest with an invalid spec');
  }
}

/** The API, counting reads and writes into `calls`. */
function counting(api: ClusterApi, calls: { reads: number; writes: number }): ClusterApi {
  const write =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    (...args: A) => {
      calls.writes += 1;
      return f(...args);
    };
  const read =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    (...args: A) => {
      calls.reads += 1;
      return f(...args);
    };
  return {
    patchRequestStatus: write(api.patchRequestStatus.bind(api)),
    patchRequestMetadata: write(api.patchRequestMetadata.bind(api)),
    createJob: write(api.createJob.bind(api)),
    apply: write(api.apply.bind(api)) as ClusterApi['apply'],
    createEvent: write(api.createEvent.bind(api)),
    createTrainJob: write(api.createTrainJob.bind(api)),
    readWorkloadMessage: read(api.readWorkloadMessage.bind(api)),
    readSecretKey: read(api.readSecretKey.bind(api)),
    readConfigMap: read(api.readConfigMap.bind(api)),
  };
}

function isOwnedBy(job: V1Job | TrainJob, uid: string | undefined): boolean {
  return !uid || (job.metadata?.ownerReferences ?? []).some((o) => o.uid === uid);
}

/** Pods of a Job by the labels the Job controller sets (used by views built on plain lists). */
export function podsOfJob(pods: readonly V1Pod[], jobName: string): V1Pod[] {
  return pods.filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName || p.metadata?.labels?.['job-name'] === jobName);
}
