import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { GROUP, KIND, VERSION } from '../../api/training-request.js';

/** Field manager for every server-side apply of this operator. */
export const FIELD_MANAGER = 'trainer-agent';
/**
 * The finalizer versions before 0.2 added to requests with S3 storage, an option that never stored
 * anything and was removed. The operator only removes it, so such requests can still be deleted.
 */
export const LEGACY_FINALIZER = 'traineragent.io/artifacts';

/** Label on every child: which TrainingRequest it belongs to. */
export const REQUEST_LABEL = 'traineragent.io/request';
/** Label on Jobs: data, train or convert. */
export const JOB_KIND_LABEL = 'traineragent.io/job-kind';
/** Label on every child: job or serving. */
export const COMPONENT_LABEL = 'traineragent.io/component';
/**
 * Annotation on data Jobs: the staged sources the Job was made from (digest and fingerprint per
 * source). A restarted operator takes them as known, so its requests do not fall back to fetching
 * data they already have; it revalidates them in the background.
 */
export const SOURCES_ANNOTATION = 'traineragent.io/sources';
/** Annotation on the serving Deployment: the model it serves. */
export const MODEL_ANNOTATION = 'traineragent.io/model';
/** Annotation on the serving Deployment: the model repository it serves. */
export const REPOSITORY_ANNOTATION = 'traineragent.io/model-repository';
/** Label selecting everything this operator manages (informers watch with it). */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'trainer-agent' } as const;
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=trainer-agent';

/**
 * Labels and annotations GitOps tools use to track what they own. They are never copied onto
 * children: Argo CD would otherwise think it owns the children and prune them.
 */
export const GITOPS_TRACKING_KEYS = ['app.kubernetes.io/instance', 'argocd.argoproj.io/tracking-id', 'argocd.argoproj.io/instance'];

/** The parts of a TrainingRequest a builder reads. */
export interface Owner {
  name: string;
  namespace: string;
  uid: string;
}

/** Owner reference to the TrainingRequest: controller, and deletion waits for the child. */
export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** Labels of a child. Built from scratch, never copied from the request. */
export function childLabels(owner: Owner, component: 'job' | 'serving' | 'api-doc', extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, ...MANAGED_BY, 'app.kubernetes.io/part-of': 'trainer-agent', [REQUEST_LABEL]: owner.name, [COMPONENT_LABEL]: component };
}

/** Metadata of a child in the request's namespace. */
export function childMeta(owner: Owner, name: string, component: 'job' | 'serving' | 'api-doc', extraLabels: Record<string, string> = {}, annotations?: Record<string, string>): V1ObjectMeta {
  return {
    name,
    namespace: owner.namespace,
    labels: childLabels(owner, component, extraLabels),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    ownerReferences: [ownerReference(owner)],
  };
}

/** A DNS-1035 label (Service names): starts with a letter, ≤ 63 characters. */
export function dns1035(base: string, suffix: string): string {
  const head = /^[a-z]/.test(base) ? base : `r-${base}`;
  return `${head.slice(0, 63 - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
}

/** Name of the serving Deployment, Service and HPA of a request. */
export function servingName(request: string): string {
  return dns1035(request, 'triton');
}

/** Name of the ConfigMap that holds the API document. */
export function apiDocConfigMapName(request: string): string {
  return dns1035(request, 'api');
}

/** The `namespace/name` work-queue key of an object. */
export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Split a `namespace/name` key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
