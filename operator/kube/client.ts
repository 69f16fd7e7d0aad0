/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/training-request.js';
import { FIELD_MANAGER, REQUEST_LABEL, MANAGED_BY_SELECTOR } from './builders/meta.js';

/** True when `error` is an API error with one of these HTTP codes. */
export function isApiError(error: unknown, ...codes: number[]): boolean {
  return error instanceof ApiException && codes.includes(error.code);
}

/**
 * Everything the controller does to the cluster, in one small interface, so the reconcile logic is
 * tested against a fake and the real client stays thin.
 */
export interface ClusterApi {
  /** The TrainingRequest as stored now (not from a cache); undefined when gone. */
  getRequest(namespace: string, name: string): Promise<Record<string, any> | undefined>;
  /** JSON merge patch of the status subresource. */
  patchRequestStatus(namespace: string, name: string, status: unknown): Promise<void>;
  /** JSON merge patch of metadata (finalizers), guarded by resourceVersion. */
  patchRequestMetadata(namespace: string, name: string, metadata: Record<string, unknown>): Promise<void>;
  listJobs(namespace: string, request: string): Promise<V1Job[]>;
  listPods(namespace: string, request: string): Promise<V1Pod[]>;
  /** Create a Job; false when it already exists (409), which is fine: names are deterministic. */
  createJob(job: V1Job): Promise<boolean>;
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  /** Server-side apply with field manager `trainer-agent`, forcing ownership of our fields. */
  apply<T extends KubernetesObject>(object: T): Promise<T>;
  createEvent(event: CoreV1Event): Promise<void>;
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  readConfigMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The real ClusterApi on @kubernetes/client-node 2.x. */
export function clusterApi(kc: KubeConfig): ClusterApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const crd = { group: GROUP, version: VERSION, plural: PLURAL };
  const selector = (request: string) => `${MANAGED_BY_SELECTOR},${REQUEST_LABEL}=${request}`;
  const orUndefined = async <T>(call: Promise<T>): Promise<T | undefined> => {
    try {
      return await call;
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw error;
    }
  };
  return {
    getRequest: (namespace, name) => orUndefined(custom.getNamespacedCustomObject({ ...crd, namespace, name }) as Promise<Record<string, any>>),
    async patchRequestStatus(namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus({ ...crd, namespace, name, body: { status } }, mergePatch);
    },
    async patchRequestMetadata(namespace, name, metadata) {
      await custom.patchNamespacedCustomObject({ ...crd, namespace, name, body: { metadata } }, mergePatch);
    },
    listJobs: async (namespace, request) => (await batch.listNamespacedJob({ namespace, labelSelector: selector(request) })).items,
    listPods: async (namespace, request) => (await core.listNamespacedPod({ namespace, labelSelector: selector(request) })).items,
    async createJob(job) {
      try {
        await batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job });
        return true;
      } catch (error) {
        if (isApiError(error, 409)) return false;
        throw error;
      }
    },
    getDeployment: (namespace, name) => orUndefined(apps.readNamespacedDeployment({ namespace, name })),
    apply: (object) => objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    async createEvent(event) {
      await core.createNamespacedEvent({ namespace: event.metadata!.namespace!, body: event });
    },
    async readSecretKey(namespace, name, key) {
      const secret = await orUndefined(core.readNamespacedSecret({ namespace, name }));
      const value = secret?.data?.[key];
      return value === undefined ? secret?.stringData?.[key] : Buffer.from(value, 'base64').toString('utf8');
    },
    readConfigMap: (namespace, name) => orUndefined(core.readNamespacedConfigMap({ namespace, name })),
  };
}
