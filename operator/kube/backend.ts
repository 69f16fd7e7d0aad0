import { hostname } from 'node:os';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION } from '../api/training-request.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { startProbeServer } from '../observability/probes.js';
import { ArtifactStore } from './artifacts.js';
import { BrainFactory } from './brain.js';
import { COMPONENT_LABEL, JOB_KIND_LABEL, MANAGED_BY_SELECTOR, REQUEST_LABEL, SOURCES_ANNOTATION, keyOf, splitKey } from './builders/meta.js';
import { TRAINER_GROUP, TRAINER_VERSION, TRAINJOB_PLURAL, type TrainJob } from './builders/train-job.js';
import { clusterApi, discoverCapabilities, isApiError, type ClusterApi, type ClusterView } from './client.js';
import type { OperatorConfig } from './config.js';
import { TrainingRequestController, type ReconcileFn } from './controller.js';
import { Informer, type InformerEventType } from './informer.js';
import { LeaderElector, leaseApi } from './leader-election.js';
import { SpreadResync } from './resync.js';
import { KubeClient } from './rest/client.js';
import type { Connection } from './rest/kubeconfig.js';
import { podChanged, slimDeployment, slimJob, slimPod, slimTrainJob, withoutManagedFields } from './slim.js';
import { SourceStager, parseSourceRecords } from './sources.js';
import { WorkQueue } from './work-queue.js';

/** What the Kubernetes backend needs to run. */
export interface KubeOperatorOptions {
  connection: Connection;
  config: OperatorConfig;
  log: Logger;
  metrics: OperatorMetrics;
  reconcile: ReconcileFn;
  /** Lease holder identity; default: hostname_pid. */
  identity?: string;
  probePort: number;
  probeHost?: string;
  /** Called when leadership is lost (the process should exit non-zero). */
  onLostLeadership?: () => void;
}

/** A running operator. */
export interface RunningOperator {
  probePort: number;
  isLeader(): boolean;
  /** Stop: informers, in-flight reconciles (drained unless `drain` is false), the lease, probes. */
  stop(options?: { drain?: boolean }): Promise<void>;
}

/** Thrown by writes after this replica stopped leading: they must not reach the API server. */
export class NotLeaderError extends Error {
  constructor() {
    super('this replica is not the leader any more; write dropped');
    this.name = 'NotLeaderError';
  }
}

/**
 * The Kubernetes backend: probes and metrics at once; once leader, informers for TrainingRequests
 * and their Jobs, job Pods and serving Deployments feed `namespace/name` keys into a rate-limited
 * work queue, and workers run one reconcile per key at a time, reading only from those caches.
 */
export async function startKubeOperator(options: KubeOperatorOptions): Promise<RunningOperator> {
  const { config, log, metrics } = options;
  const identity = options.identity ?? `${hostname()}_${process.pid}`;
  const client = new KubeClient(options.connection, { onCall: (call) => metrics.apiCall(call) });
  const store = new ArtifactStore(config);
  const queue = new WorkQueue(undefined, metrics.queueHooks());
  const ns = config.watchNamespace;
  const all = (group: string, plural: string) => (ns ? `${group}/namespaces/${ns}/${plural}` : `${group}/${plural}`);
  const informerBase = { client, log, idleTimeoutMs: config.watchdogSeconds * 1000 };
  const restarted = (resource: string) => () => metrics.informerRestarts.inc({ resource });
  const enqueueOwner = (object: KubernetesObject) => {
    const owner = object.metadata?.ownerReferences?.find((o) => o.kind === KIND && o.apiVersion.startsWith(`${GROUP}/`))?.name ?? object.metadata?.labels?.[REQUEST_LABEL];
    if (owner) queue.add(keyOf(object.metadata?.namespace, owner));
  };

  const requests = new Informer<KubernetesObject>({
    ...informerBase,
    resource: PLURAL,
    path: all(`/apis/${GROUP}/${VERSION}`, PLURAL),
    transform: withoutManagedFields,
    // Every emitted event is a change someone else made: this process's own writes are put into
    // the cache before their watch events arrive, which then carry nothing new.
    onEvent: (_type, object) => queue.add(keyOf(object.metadata?.namespace, object.metadata!.name!)),
    onRestart: restarted(PLURAL),
  });
  const jobs = new Informer<V1Job>({
    ...informerBase,
    resource: 'jobs',
    path: all('/apis/batch/v1', 'jobs'),
    labelSelector: MANAGED_BY_SELECTOR,
    transform: slimJob,
    index: (job) => `${job.metadata?.namespace}/${job.metadata?.labels?.[REQUEST_LABEL] ?? ''}`,
    onEvent: (_type, job) => enqueueOwner(job),
    onRestart: restarted('jobs'),
  });
  const pods = new Informer<V1Pod>({
    ...informerBase,
    resource: 'pods',
    path: all('/api/v1', 'pods'),
    labelSelector: `${MANAGED_BY_SELECTOR},${COMPONENT_LABEL}=job`,
    transform: slimPod,
    index: (pod) => `${pod.metadata?.namespace}/${pod.metadata?.labels?.['batch.kubernetes.io/job-name'] ?? pod.metadata?.labels?.['job-name'] ?? ''}`,
    onEvent: (type: InformerEventType, pod, old) => {
      if (type !== 'update' || podChanged(pod, old)) enqueueOwner(pod);
    },
    onRestart: restarted('pods'),
  });
  const deployments = new Informer<V1Deployment>({
    ...informerBase,
    resource: 'deployments',
    path: all('/apis/apps/v1', 'deployments'),
    labelSelector: MANAGED_BY_SELECTOR,
    transform: slimDeployment,
    onEvent: (_type, deployment) => enqueueOwner(deployment),
    onRestart: restarted('deployments'),
  });
  // Kubeflow Trainer and Kueue are used when the cluster serves them (discovery, at start).
  const capabilities = await discoverCapabilities(client);
  log.info({ trainJobs: capabilities.trainJobs, kueueWorkloads: capabilities.kueueWorkloads ?? false }, 'Discovered optional APIs');
  const trainJobs = capabilities.trainJobs
    ? new Informer<TrainJob>({
        ...informerBase,
        resource: TRAINJOB_PLURAL,
        path: all(`/apis/${TRAINER_GROUP}/${TRAINER_VERSION}`, TRAINJOB_PLURAL),
        labelSelector: MANAGED_BY_SELECTOR,
        transform: slimTrainJob,
        index: (trainJob) => `${trainJob.metadata?.namespace}/${trainJob.metadata?.labels?.[REQUEST_LABEL] ?? ''}`,
        onEvent: (_type, trainJob) => enqueueOwner(trainJob),
        onRestart: restarted(TRAINJOB_PLURAL),
      })
    : undefined;
  const named = { trainingrequests: requests, jobs, pods, deployments, ...(trainJobs ? { trainjobs: trainJobs } : {}) } as unknown as Record<string, Informer<KubernetesObject>>;
  const informers = Object.values(named);
  const children = [jobs, pods, deployments, ...(trainJobs ? [trainJobs] : [])] as unknown as Informer<KubernetesObject>[];

  let elector: LeaderElector | undefined;
  const isLeader = () => (elector ? elector.isLeader : true);
  const api = writeThrough(clusterApi(client, capabilities), { requests, jobs, deployments, ...(trainJobs ? { trainJobs } : {}) }, isLeader);
  const view: ClusterView = {
    request: (namespace, name) => requests.get(namespace, name),
    jobs: (namespace, request) => jobs.byIndex(`${namespace}/${request}`),
    pods: (namespace, job) => pods.byIndex(`${namespace}/${job}`),
    deployment: (namespace, name) => deployments.get(namespace, name),
    trainJobs: (namespace, request) => trainJobs?.byIndex(`${namespace}/${request}`) ?? [],
  };
  const stager = new SourceStager({
    config,
    store,
    access: api,
    log,
    onSettled: (key) => queue.add(key),
    // The newest data Job's record of its sources (jobs are cached before any reconcile runs).
    seeds: (request) =>
      view
        .jobs(request.metadata.namespace, request.metadata.name)
        .filter((j) => j.metadata?.labels?.[JOB_KIND_LABEL] === 'data' && j.metadata?.annotations?.[SOURCES_ANNOTATION])
        .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))
        .flatMap((j) => parseSourceRecords(j.metadata!.annotations![SOURCES_ANNOTATION])),
  });
  const brains = new BrainFactory(api, log);
  const controller = new TrainingRequestController({ api, view, config, store, log, metrics, reconcile: options.reconcile, sources: stager, brainFor: (r) => brains.brainFor(r), instance: identity, capabilities });
  const resync = new SpreadResync({ periodMs: config.resyncSeconds * 1000, keys: () => requests.keys(), enqueue: (key) => queue.add(key) });
  const workers: Promise<void>[] = [];
  let controllersStarted = false;

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const { namespace, name } = splitKey(key);
      const started = performance.now();
      try {
        const outcome = await controller.reconcile(namespace, name);
        queue.forget(key);
        if (outcome.requeueAfterMs !== undefined) queue.addAfter(key, outcome.requeueAfterMs);
        const seconds = (performance.now() - started) / 1000;
        metrics.reconciled(outcome.requeueAfterMs !== undefined ? 'requeue_after' : 'success', seconds);
        log.debug({ namespace, name, phase: outcome.phase, reads: outcome.calls?.reads, writes: outcome.calls?.writes, ms: Math.round(seconds * 1000) }, 'Reconciled TrainingRequest');
      } catch (error) {
        if (error instanceof NotLeaderError) return;
        const delay = queue.addRateLimited(key);
        metrics.reconciled('error', (performance.now() - started) / 1000);
        // A conflict is someone else's write landing first: retry quietly.
        const level = isApiError(error, 409) ? 'debug' : 'error';
        log[level]({ namespace, name, err: (error as Error).message, retries: queue.retries(key), retryInMs: delay }, 'Reconciler error');
      } finally {
        queue.done(key);
      }
    }
  }

  async function startControllers(): Promise<void> {
    if (controllersStarted) return;
    controllersStarted = true;
    // Children first, synced: a request's first reconcile must already see the Jobs it created
    // before (or it would report them as not started yet). Until then /readyz says not ready.
    await Promise.all(children.map((i) => i.start()));
    await Promise.all(children.map((i) => i.synced()));
    await requests.start();
    for (let i = 0; i < config.workers; i += 1) workers.push(worker());
    resync.start();
    log.info({ workers: config.workers, namespace: ns || '(all)' }, 'Started TrainingRequest controller');
  }

  const probes = await startProbeServer({
    port: options.probePort,
    ...(options.probeHost ? { host: options.probeHost } : {}),
    registry: metrics.registry,
    beforeMetrics: () => {
      for (const [resource, informer] of Object.entries(named)) metrics.informerObjects.set({ resource }, informer.size);
    },
    checks: {
      healthy: () => !controllersStarted || informers.every((i) => i.silenceMs < config.watchdogSeconds * 3000),
      // A standby replica is ready (it serves probes and metrics); the leader once its caches synced.
      ready: () => !controllersStarted || informers.every((i) => i.hasSynced),
    },
  });

  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    elector = new LeaderElector({
      api: leaseApi(client),
      namespace: config.namespace,
      name: le.leaseName,
      identity,
      log,
      leaseDurationMs: le.leaseDurationSeconds * 1000,
      renewDeadlineMs: le.renewDeadlineSeconds * 1000,
      retryPeriodMs: le.retryPeriodSeconds * 1000,
      onStatus: (leader) => metrics.leaderStatus.set({ name: le.leaseName }, leader ? 1 : 0),
      onStartedLeading: () => void startControllers().catch((error: unknown) => log.error({ err: (error as Error).message }, 'Failed to start controllers')),
      onStoppedLeading: () => options.onLostLeadership?.(),
    });
    elector.start();
  } else {
    metrics.leaderStatus.set({ name: config.leaderElection.leaseName }, 1);
    await startControllers();
  }

  return {
    probePort: probes.port,
    isLeader,
    async stop(stopOptions = {}) {
      const drain = stopOptions.drain ?? true;
      resync.stop();
      await Promise.all(informers.map((i) => i.stop()));
      await queue.shutDown(drain);
      if (drain) await Promise.all(workers);
      await elector?.stop(drain);
      await stager.close();
      await probes.close();
      client.close();
      log.info({}, 'Stopped TrainingRequest controller');
    },
  };
}

/**
 * The API as the controller uses it: writes are refused once this replica stopped leading, and
 * what the API server answers to a write goes into the matching cache at once, so the next
 * reconcile sees its own writes and the watch events they cause are no-ops.
 */
export function writeThrough(api: ClusterApi, caches: { requests: Informer<KubernetesObject>; jobs: Informer<V1Job>; deployments: Informer<V1Deployment>; trainJobs?: Informer<TrainJob> }, isLeader: () => boolean): ClusterApi {
  const guard = () => {
    if (!isLeader()) throw new NotLeaderError();
  };
  return {
    async patchRequestStatus(namespace, name, status) {
      guard();
      const stored = await api.patchRequestStatus(namespace, name, status);
      caches.requests.upsert(stored as KubernetesObject);
      return stored;
    },
    async patchRequestMetadata(namespace, name, metadata) {
      guard();
      const stored = await api.patchRequestMetadata(namespace, name, metadata);
      caches.requests.upsert(stored as KubernetesObject);
      return stored;
    },
    async createJob(job) {
      guard();
      const created = await api.createJob(job);
      if (created) caches.jobs.upsert(created);
      return created;
    },
    async apply(object) {
      guard();
      const applied = await api.apply(object);
      if (applied.kind === 'Deployment') caches.deployments.upsert(applied as V1Deployment);
      return applied;
    },
    async createEvent(event) {
      guard();
      await api.createEvent(event);
    },
    async createTrainJob(trainJob) {
      guard();
      const created = await api.createTrainJob(trainJob);
      if (created) caches.trainJobs?.upsert(created);
      return created;
    },
    readWorkloadMessage: (namespace, jobUid) => api.readWorkloadMessage(namespace, jobUid),
    readSecretKey: (namespace, name, key) => api.readSecretKey(namespace, name, key),
    readConfigMap: (namespace, name) => api.readConfigMap(namespace, name),
  };
}
