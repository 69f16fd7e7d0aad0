/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
import type { CoreV1Event, KubernetesObject, V1ConfigMap, V1Deployment, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/training-request.js';
import { FIELD_MANAGER } from './builders/meta.js';
import { TRAINER_GROUP, TRAINER_VERSION, TRAINJOB_PLURAL, type TrainJob } from './builders/train-job.js';
import { isApiError, type KubeClient } from './rest/client.js';

export { isApiError } from './rest/client.js';

/**
 * Every call the controller makes to the API server, in one small interface: the writes, and the
 * two reads that are not worth an informer (a Secret for an LLM key, a ConfigMap data source).
 * What the controller reads on every reconcile (the request, its Jobs, their Pods, the serving
 * Deployment) comes from informer caches instead ({@link ClusterView}).
 */
export interface ClusterApi {
  /** JSON merge patch of the status subresource; resolves to the stored object. */
  patchRequestStatus(namespace: string, name: string, status: unknown): Promise<Record<string, any>>;
  /** JSON merge patch of metadata (finalizers), guarded by resourceVersion; resolves to the stored object. */
  patchRequestMetadata(namespace: string, name: string, metadata: Record<string, unknown>): Promise<Record<string, any>>;
  /** Create a Job; undefined when it already exists (409), which is fine: names are deterministic. */
  createJob(job: V1Job): Promise<V1Job | undefined>;
  /** Server-side apply with field manager `trainer-agent`, forcing ownership of our fields. */
  apply<T extends KubernetesObject>(object: T): Promise<T>;
  createEvent(event: CoreV1Event): Promise<void>;
  /** Create a Kubeflow Trainer TrainJob; undefined when it already exists (409). */
  createTrainJob(trainJob: TrainJob): Promise<TrainJob | undefined>;
  /** Why Kueue has not admitted the Job with this uid (its Workload's condition message); undefined without Kueue or a reason. */
  readWorkloadMessage(namespace: string, jobUid: string): Promise<string | undefined>;
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  readConfigMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
}

/** What the controller reads on every reconcile, from informer caches: no API call. */
export interface ClusterView {
  request(namespace: string, name: string): Record<string, any> | undefined;
  /** Jobs labelled with the request's name. */
  jobs(namespace: string, request: string): V1Job[];
  /** Pods of one Job. */
  pods(namespace: string, job: string): V1Pod[];
  /** TrainJobs labelled with the request's name (none when the cluster has no Kubeflow Trainer). */
  trainJobs(namespace: string, request: string): TrainJob[];
  deployment(namespace: string, name: string): V1Deployment | undefined;
}

/** The collection path of a kind in a namespace (the kinds this operator touches). */
export function collectionPath(apiVersion: string, kind: string, namespace: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`no REST path known for ${apiVersion}/${kind}`);
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

const PLURALS: Record<string, string> = {
  Job: 'jobs',
  Pod: 'pods',
  Deployment: 'deployments',
  Service: 'services',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Event: 'events',
  Lease: 'leases',
  TrainingRequest: PLURAL,
  TrainJob: TRAINJOB_PLURAL,
};

/** The optional APIs this operator uses when a cluster serves them (found by discovery at start). */
export interface Capabilities {
  /** trainjobs.trainer.kubeflow.org (Kubeflow Trainer v2) is served. */
  trainJobs: boolean;
  /** The group/version of kueue.x-k8s.io Workloads, when Kueue is installed. */
  kueueWorkloads?: string;
}

/** Ask the API server which of the optional APIs it serves (discovery documents; no RBAC needed). */
export async function discoverCapabilities(client: Pick<KubeClient, 'request'>): Promise<Capabilities> {
  const get = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await client.request<T>({ verb: 'get', path });
    } catch (error) {
      if (isApiError(error, 403, 404, 503)) return undefined;
      throw error;
    }
  };
  const trainer = await get<{ resources?: { name: string }[] }>(`/apis/${TRAINER_GROUP}/${TRAINER_VERSION}`);
  const kueue = await get<{ preferredVersion?: { groupVersion?: string } }>('/apis/kueue.x-k8s.io');
  const kueueVersion = kueue?.preferredVersion?.groupVersion;
  const workloads = kueueVersion ? await get<{ resources?: { name: string }[] }>(`/apis/${kueueVersion}`) : undefined;
  return {
    trainJobs: (trainer?.resources ?? []).some((r) => r.name === TRAINJOB_PLURAL),
    ...(kueueVersion && (workloads?.resources ?? []).some((r) => r.name === 'workloads') ? { kueueWorkloads: kueueVersion } : {}),
  };
}

/** A Workload's reason for waiting: the message of its QuotaReserved or Admitted condition that is not True. */
export function workloadMessage(workload: { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }): string | undefined {
  const conditions = workload.status?.conditions ?? [];
  const waiting = ['QuotaReserved', 'Admitted'].map((t) => conditions.find((c) => c.type === t)).find((c) => c && c.status !== 'True' && c.message);
  return waiting ? `${waiting.message}${waiting.reason ? ` (${waiting.reason})` : ''}` : undefined;
}

const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

/** The real ClusterApi on the REST client. */
export function clusterApi(client: KubeClient, capabilities: Capabilities = { trainJobs: false }): ClusterApi {
  const requestPath = (namespace: string, name: string) => `${collectionPath(`${GROUP}/${VERSION}`, 'TrainingRequest', namespace)}/${encodeURIComponent(name)}`;
  const orUndefined = async <T>(call: Promise<T>): Promise<T | undefined> => {
    try {
      return await call;
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw error;
    }
  };
  return {
    patchRequestStatus: (namespace, name, status) => client.request({ verb: 'patch', path: `${requestPath(namespace, name)}/status`, body: { status }, contentType: MERGE_PATCH }),
    patchRequestMetadata: (namespace, name, metadata) => client.request({ verb: 'patch', path: requestPath(namespace, name), body: { metadata }, contentType: MERGE_PATCH }),
    async createJob(job) {
      try {
        return await client.request<V1Job>({ verb: 'create', path: collectionPath('batch/v1', 'Job', job.metadata!.namespace!), body: job });
      } catch (error) {
        if (isApiError(error, 409)) return undefined;
        throw error;
      }
    },
    apply: <T extends KubernetesObject>(object: T) =>
      client.request<T>({
        verb: 'apply',
        path: `${collectionPath(object.apiVersion!, object.kind!, object.metadata!.namespace!)}/${encodeURIComponent(object.metadata!.name!)}`,
        query: { fieldManager: FIELD_MANAGER, force: true },
        // JSON is YAML: the apply content type takes it as is.
        body: object,
        contentType: APPLY_PATCH,
      }),
    async createEvent(event) {
      await client.request({ verb: 'create', path: collectionPath('v1', 'Event', event.metadata!.namespace!), body: event });
    },
    async createTrainJob(trainJob) {
      try {
        return await client.request<TrainJob>({ verb: 'create', path: collectionPath(trainJob.apiVersion!, 'TrainJob', trainJob.metadata!.namespace!), body: trainJob });
      } catch (error) {
        if (isApiError(error, 409)) return undefined;
        throw error;
      }
    },
    async readWorkloadMessage(namespace, jobUid) {
      if (!capabilities.kueueWorkloads) return undefined;
      const list = await orUndefined(client.request<{ items?: Parameters<typeof workloadMessage>[0][] }>({ verb: 'list', path: `/apis/${capabilities.kueueWorkloads}/namespaces/${encodeURIComponent(namespace)}/workloads`, query: { labelSelector: `kueue.x-k8s.io/job-uid=${jobUid}` } }));
      return (list?.items ?? []).map(workloadMessage).find((m) => m !== undefined);
    },
    async readSecretKey(namespace, name, key) {
      const secret = await orUndefined(client.request<V1Secret>({ verb: 'get', path: `${collectionPath('v1', 'Secret', namespace)}/${encodeURIComponent(name)}` }));
      const value = secret?.data?.[key];
      return value === undefined ? secret?.stringData?.[key] : Buffer.from(value, 'base64').toString('utf8');
    },
    readConfigMap: (namespace, name) => orUndefined(client.request<V1ConfigMap>({ verb: 'get', path: `${collectionPath('v1', 'ConfigMap', namespace)}/${encodeURIComponent(name)}` })),
  };
}
