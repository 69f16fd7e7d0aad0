import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type { TrainJob } from './builders/train-job.js';

/**
 * Cache transforms, like controller-runtime's `cache.Options.DefaultTransform`: keep only what the
 * controller reads, so the informer caches stay small whatever the cluster holds. managedFields
 * alone are often larger than the rest of an object.
 */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** A Job as the controller reads it: metadata, whether it is suspended (a queue holds it), and status; not the pod template. */
export function slimJob(job: V1Job): V1Job {
  const { managedFields: _m, ...metadata } = job.metadata ?? {};
  return { apiVersion: job.apiVersion, kind: job.kind, metadata, ...(job.spec?.suspend ? { spec: { suspend: true } } : {}), ...(job.status ? { status: job.status } : {}) } as V1Job;
}

/** A TrainJob as the controller reads it: metadata, suspend, and its conditions. */
export function slimTrainJob(trainJob: TrainJob): TrainJob {
  const { managedFields: _m, ...metadata } = trainJob.metadata ?? {};
  const conditions = trainJob.status?.conditions;
  return { apiVersion: trainJob.apiVersion, kind: trainJob.kind, metadata, ...(trainJob.spec?.suspend ? { spec: { suspend: true } } : {}), ...(conditions ? { status: { conditions } } : {}) } as TrainJob;
}

/** A Deployment as the controller reads it: metadata, replicas, status; not the pod template. */
export function slimDeployment(deployment: V1Deployment): V1Deployment {
  const { managedFields: _m, ...metadata } = deployment.metadata ?? {};
  return {
    apiVersion: deployment.apiVersion,
    kind: deployment.kind,
    metadata,
    spec: { replicas: deployment.spec?.replicas } as V1Deployment['spec'],
    ...(deployment.status ? { status: deployment.status } : {}),
  } as V1Deployment;
}

/** A job Pod as the controller reads it: which Job, phase, and how its containers ended. */
export function slimPod(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    status: {
      phase: pod.status?.phase,
      // Only the scheduler's verdict: why a pod is not placed (Unschedulable and its message).
      conditions: (pod.status?.conditions ?? []).filter((c) => c.type === 'PodScheduled').map((c) => ({ type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) })),
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({ name: c.name, state: c.state?.terminated ? { terminated: c.state.terminated } : {} })),
    },
  } as V1Pod;
}

/** Whether a Pod changed in a way the controller cares about (phase, termination, deletion). */
export function podChanged(pod: V1Pod, old: V1Pod | undefined): boolean {
  if (!old) return true;
  return pod.status?.phase !== old.status?.phase || !!pod.metadata?.deletionTimestamp !== !!old.metadata?.deletionTimestamp || JSON.stringify(pod.status?.containerStatuses) !== JSON.stringify(old.status?.containerStatuses) || JSON.stringify(pod.status?.conditions) !== JSON.stringify(old.status?.conditions);
}
