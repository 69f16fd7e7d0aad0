/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
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
import { buildJob, type DataMount } from './builders/job.js';
import { FINALIZER, servingName, type Owner } from './builders/meta.js';
import { buildApiDocConfigMap, buildTritonDeployment, buildTritonHpa, buildTritonService, servingUrl } from './builders/serving.js';
import { mergePatch } from './builders/status-patch.js';
import type { ClusterApi } from './client.js';
import type { OperatorConfig } from './config.js';
import { observeJob, observeServing } from './observe.js';
import { resolveClusterSources } from './sources.js';

/** The pipeline's entry point (injected so the controller is tested without the agents). */
export type ReconcileFn = (request: TrainingRequest, observed: Observed, deps: ReconcileDeps) => Promise<ReconcileResult>;

/** What the controller needs. */
export interface ControllerDeps {
  api: ClusterApi;
  config: OperatorConfig;
  store: ArtifactStore;
  log: Logger;
  metrics?: OperatorMetrics;
  reconcile: ReconcileFn;
  brainFor: (request: TrainingRequest) => Promise<Brain>;
  /** Called when a request with the finalizer is deleted: remove artifacts outside the cluster. */
  cleanupExternalArtifacts?: (request: TrainingRequest) => Promise<void>;
  now?: () => Date;
  /** This replica's name, for Events. */
  instance?: string;
}

/** What one reconcile asks of the queue. */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
}

/**
 * One reconcile of one TrainingRequest, driven by its `namespace/name` key: read it fresh, observe
 * its Jobs, pods, result files and serving Deployment, let the pipeline decide, act (Jobs by create
 * with deterministic names, serving and the API doc by server-side apply, Events), and patch
 * `/status` only when it changed. Never writes spec.
 */
export class TrainingRequestController {
  constructor(private readonly deps: ControllerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const { api, log, metrics } = this.deps;
    const key = `${namespace}/${name}`;
    const raw = await api.getRequest(namespace, name);
    if (!raw) {
      metrics?.phase(key, namespace, undefined);
      log.debug({ namespace, name }, 'Found no TrainingRequest; it was deleted');
      return {};
    }
    const parsed = TrainingRequest.safeParse(raw);
    if (!parsed.success) {
      await this.reportInvalid(raw, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return {};
    }
    const request = parsed.data;
    const finalizers = request.metadata.finalizers ?? [];
    if (request.metadata.deletionTimestamp) {
      if (finalizers.includes(FINALIZER)) {
        await this.deps.cleanupExternalArtifacts?.(request);
        await api.patchRequestMetadata(namespace, name, { resourceVersion: request.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== FINALIZER) });
        log.info({ namespace, name }, 'Removed finalizer after cleaning up external artifacts');
      }
      return {};
    }
    if (request.spec.storage?.s3 && !finalizers.includes(FINALIZER)) {
      await api.patchRequestMetadata(namespace, name, { resourceVersion: request.metadata.resourceVersion, finalizers: [...finalizers, FINALIZER] });
      log.info({ namespace, name }, 'Added finalizer for artifacts on S3');
    }

    const { observed, dataMounts, deploymentReplicas } = await this.observe(request);
    const brain = await this.deps.brainFor(request);
    const result = await this.deps.reconcile(request, observed, { brain, now: (this.deps.now ?? (() => new Date()))() });
    const owner: Owner = { name, namespace, uid: request.metadata.uid ?? '' };
    await this.act(request, owner, result.actions, dataMounts, deploymentReplicas);
    await this.writeStatus(request, raw['status'], result.status);
    metrics?.phase(key, namespace, result.status.phase);
    return result.requeue ? { requeueAfterMs: this.deps.config.requeueWhileRunningSeconds * 1000 } : {};
  }

  /** Everything the pipeline reads, from the API server and the artifacts volume. */
  private async observe(request: TrainingRequest): Promise<{ observed: Observed; dataMounts: DataMount[]; deploymentReplicas?: number }> {
    const { api, config, store } = this.deps;
    const { namespace, name } = request.metadata;
    const root = store.root(namespace, name);
    const [resolved, jobs, pods, deployment] = await Promise.all([
      resolveClusterSources(request, config, store, api),
      api.listJobs(namespace, name),
      api.listPods(namespace, name),
      api.getDeployment(namespace, servingName(name)),
    ]);
    const observedJobs: Record<string, JobObservation> = {};
    for (const job of jobs) {
      const jobName = job.metadata!.name!;
      if (!isOwnedBy(job, request.metadata.uid)) continue;
      observedJobs[jobName] = observeJob(job, podsOf(pods, jobName), () => store.readJson(request.spec, `${jobOutDir(root, jobName)}/result.json`));
    }
    const serving = observeServing(deployment, { model: name, replicas: request.status?.estimate?.replicas ?? 1 }, servingUrl({ name, namespace }));
    return {
      observed: {
        artifactRoot: root,
        sources: resolved.sources,
        jobs: observedJobs,
        ...(serving ? { serving } : {}),
        gpuAvailable: (request.spec.resources?.gpu?.count ?? 0) > 0,
        maxReplicas: config.serving.maxReplicas,
      },
      dataMounts: resolved.mounts,
      ...(deployment?.spec?.replicas !== undefined ? { deploymentReplicas: deployment.spec.replicas } : {}),
    };
  }

  /** Carry out the pipeline's actions. */
  private async act(request: TrainingRequest, owner: Owner, actions: Action[], dataMounts: DataMount[], deploymentReplicas: number | undefined): Promise<void> {
    const { api, config, store, log, metrics } = this.deps;
    const { namespace, name } = owner;
    const apiDir = apiDocPath(store.root(namespace, name)).replace(/\/[^/]+$/, '/');
    const apiFiles: Record<string, string> = {};
    const events: Extract<Action, { kind: 'event' }>[] = [];
    for (const action of actions) {
      switch (action.kind) {
        case 'runJob': {
          const { job } = action;
          // The spec goes onto the artifacts volume before the Job exists, so the pod always finds it.
          store.writeFile(request.spec, `${job.outDir}/spec.json`, `${JSON.stringify(job.spec, null, 2)}\n`);
          const created = await api.createJob(buildJob({ owner, spec: request.spec, job, config, dataMounts }));
          if (created) {
            metrics?.jobsCreated.inc({ kind: job.kind });
            log.info({ namespace, name, stage: job.kind, job: job.name, ...(job.attempt ? { attempt: job.attempt } : {}) }, `Created Job ${job.name}`);
          }
          break;
        }
        case 'writeFile': {
          if (action.path.startsWith(apiDir)) apiFiles[action.path.slice(apiDir.length)] = action.content;
          try {
            store.writeFile(request.spec, action.path, action.content);
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
          await api.apply(buildTritonDeployment(input));
          await api.apply(buildTritonService(input));
          if (autoscaling) await api.apply(buildTritonHpa(input));
          log.debug({ namespace, name, stage: 'serving', replicas }, `Applied Deployment ${servingName(name)}`);
          break;
        }
        case 'event':
          events.push(action);
          break;
      }
    }
    if (Object.keys(apiFiles).length) await api.apply(buildApiDocConfigMap(owner, apiFiles));
    for (const event of events) {
      try {
        await api.createEvent(buildEvent({ name, namespace, uid: owner.uid, ...(request.metadata.resourceVersion ? { resourceVersion: request.metadata.resourceVersion } : {}) }, event, new Date(), this.deps.instance));
      } catch (error) {
        log.warn({ namespace, name, reason: event.reason, err: (error as Error).message }, 'Failed to record Event');
      }
      log.info({ namespace, name, reason: event.reason, type: event.type }, event.message);
    }
  }

  /** Merge-patch `/status` with what changed; nothing when nothing did. */
  private async writeStatus(request: TrainingRequest, stored: unknown, next: TrainingRequestStatus): Promise<void> {
    const { namespace, name } = request.metadata;
    const plain = JSON.parse(JSON.stringify(next)) as unknown;
    const patch = mergePatch(stored ?? {}, plain);
    if (patch === undefined) return;
    await this.deps.api.patchRequestStatus(namespace, name, patch);
    const before = request.status?.phase;
    if (before !== next.phase) this.deps.log.info({ namespace, name, stage: next.phase, from: before }, `Updated TrainingRequest phase to ${next.phase}`);
  }

  /** A stored object the schema rejects (the CRD should prevent it): say why in a Stalled condition. */
  private async reportInvalid(raw: Record<string, any>, why: string): Promise<void> {
    const { namespace, name, generation } = raw['metadata'] ?? {};
    const now = (this.deps.now ?? (() => new Date()))();
    const conditions = setOverall(raw['status']?.conditions ?? [], { state: 'Stalled', reason: 'InvalidSpec', message: why.slice(0, 2000) }, now, generation);
    const patch = mergePatch(raw['status'] ?? {}, { ...(raw['status'] ?? {}), observedGeneration: generation, conditions, phase: 'Failed' });
    if (patch !== undefined) await this.deps.api.patchRequestStatus(namespace, name, patch);
    this.deps.log.warn({ namespace, name, err: why }, 'Rejected TrainingRequest with an invalid spec');
  }
}

function isOwnedBy(job: V1Job, uid: string | undefined): boolean {
  return !uid || (job.metadata?.ownerReferences ?? []).some((o) => o.uid === uid);
}

function podsOf(pods: readonly V1Pod[], jobName: string): V1Pod[] {
  return pods.filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName || p.metadata?.labels?.['job-name'] === jobName);
}
