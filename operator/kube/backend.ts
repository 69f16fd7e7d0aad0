import { hostname } from 'node:os';
import { AppsV1Api, BatchV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Deployment, type V1Job } from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION } from '../api/training-request.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { startProbeServer } from '../observability/probes.js';
import { ArtifactStore } from './artifacts.js';
import { BrainFactory } from './brain.js';
import { MANAGED_BY_SELECTOR, keyOf, splitKey } from './builders/meta.js';
import { clusterApi, isApiError, type ClusterApi } from './client.js';
import type { OperatorConfig } from './config.js';
import { TrainingRequestController, type ReconcileFn } from './controller.js';
import { ResilientInformer, kubeInformer } from './informer.js';
import { LeaderElector, leaseApi } from './leader-election.js';
import { WorkQueue } from './work-queue.js';

/** What the Kubernetes backend needs to run. */
export interface KubeOperatorOptions {
  kc: KubeConfig;
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
  /** Override the cluster API (tests). */
  api?: ClusterApi;
}

/** A running operator. */
export interface RunningOperator {
  probePort: number;
  isLeader(): boolean;
  /** Graceful stop: stop informers, drain in-flight reconciles, release the lease, close probes. */
  stop(): Promise<void>;
}

/**
 * The Kubernetes backend: probes and metrics at once; once leader, informers for TrainingRequests
 * and owned Jobs and Deployments feed `namespace/name` keys into a rate-limited work queue, and
 * workers run one reconcile per key at a time.
 */
export async function startKubeOperator(options: KubeOperatorOptions): Promise<RunningOperator> {
  const { kc, config, log, metrics } = options;
  const identity = options.identity ?? `${hostname()}_${process.pid}`;
  const api = options.api ?? clusterApi(kc);
  const store = new ArtifactStore(config);
  const brains = new BrainFactory(api, log);
  const controller = new TrainingRequestController({ api, config, store, log, metrics, reconcile: options.reconcile, brainFor: (r) => brains.brainFor(r), instance: identity });
  const queue = new WorkQueue(undefined, metrics.queueHooks());
  const informers: ResilientInformer<KubernetesObject>[] = [];
  const workers: Promise<void>[] = [];
  let controllersStarted = false;

  const enqueueOwner = (object: KubernetesObject) => {
    const owner = object.metadata?.ownerReferences?.find((o) => o.kind === KIND && o.apiVersion.startsWith(`${GROUP}/`));
    if (owner) queue.add(keyOf(object.metadata?.namespace, owner.name));
  };
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = config.watchNamespace;
  const informerOptions = { log, watchdogMs: config.watchdogSeconds * 1000, resyncMs: config.resyncSeconds * 1000 };
  const requestPath = ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  const listRequests = () =>
    (ns ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns }) : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<KubernetesListObject<KubernetesObject>>;
  const listJobs = () => (ns ? batch.listNamespacedJob({ namespace: ns, labelSelector: MANAGED_BY_SELECTOR }) : batch.listJobForAllNamespaces({ labelSelector: MANAGED_BY_SELECTOR })) as Promise<KubernetesListObject<V1Job>>;
  const listDeployments = () => (ns ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: MANAGED_BY_SELECTOR }) : apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_BY_SELECTOR })) as Promise<KubernetesListObject<V1Deployment>>;

  function makeInformers(): void {
    const restart = (resource: string) => () => metrics.informerRestarts.inc({ resource });
    informers.push(
      new ResilientInformer<KubernetesObject>({ ...informerOptions, resource: PLURAL, make: kubeInformer(kc, requestPath, listRequests), onObject: (o) => queue.add(keyOf(o.metadata?.namespace, o.metadata!.name!)), onRestart: restart(PLURAL) }),
      new ResilientInformer<KubernetesObject>({ ...informerOptions, resource: 'jobs', make: kubeInformer(kc, ns ? `/apis/batch/v1/namespaces/${ns}/jobs` : '/apis/batch/v1/jobs', listJobs as never, MANAGED_BY_SELECTOR), onObject: enqueueOwner, onRestart: restart('jobs') }),
      new ResilientInformer<KubernetesObject>({ ...informerOptions, resource: 'deployments', make: kubeInformer(kc, ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments', listDeployments as never, MANAGED_BY_SELECTOR), onObject: enqueueOwner, onRestart: restart('deployments') }),
    );
  }

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
        metrics.reconciled(outcome.requeueAfterMs !== undefined ? 'requeue_after' : 'success', (performance.now() - started) / 1000);
      } catch (error) {
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
    makeInformers();
    await Promise.all(informers.map((i) => i.start()));
    for (let i = 0; i < config.workers; i += 1) workers.push(worker());
    log.info({ workers: config.workers, namespace: ns || '(all)' }, 'Started TrainingRequest controller');
  }

  let elector: LeaderElector | undefined;
  const probes = await startProbeServer({
    port: options.probePort,
    ...(options.probeHost ? { host: options.probeHost } : {}),
    registry: metrics.registry,
    checks: {
      healthy: () => !controllersStarted || informers.every((i) => i.silenceMs < config.watchdogSeconds * 3000),
      // A standby replica is ready (it serves probes and metrics); the leader once its caches synced.
      ready: () => !controllersStarted || informers.every((i) => i.hasSynced),
    },
  });

  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    elector = new LeaderElector({
      api: leaseApi(kc),
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
    isLeader: () => (elector ? elector.isLeader : true),
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
      await queue.shutDown(true);
      await Promise.all(workers);
      await elector?.stop(true);
      await probes.close();
      log.info({}, 'Stopped TrainingRequest controller');
    },
  };
}
