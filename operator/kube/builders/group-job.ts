import type { V1EnvVar, V1Job, V1Service } from '@kubernetes/client-node';
import type { JobRequest } from '../../pipeline/types.js';
import { GROUP_LABEL, JOB_CONTAINER, RETRY_LABEL, buildJob, type JobBuildInput } from './job.js';
import { childMeta, dns1035 } from './meta.js';

/** Annotation the Job controller sets on each pod of an Indexed Job: its completion index. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

/** Name of one retry of a group: the pipeline's job name, then `-r<k>` for the k-th retry. */
export function retryName(job: Pick<JobRequest, 'name' | 'retry'>): string {
  return job.retry ? `${job.name}-r${job.retry}` : job.name;
}

/** The headless Service that gives a group's pods their DNS names (`<job>-<index>.<service>`). */
export function groupServiceName(jobName: string): string {
  return /^[a-z]/.test(jobName) ? jobName : dns1035(jobName, 'ddp');
}

/**
 * The variables torchrun reads (`PET_<FLAG>`), the very ones Kubeflow Trainer injects, so one image
 * runs under both: node count, processes per node, this pod's node rank (its completion index, from
 * the downward API) and the first pod's address and port.
 */
export function petEnv(name: string, service: string, job: Pick<JobRequest, 'placement'>, masterPort: number): V1EnvVar[] {
  const p = job.placement!;
  return [
    { name: 'PET_NNODES', value: String(p.nodes) },
    { name: 'PET_NPROC_PER_NODE', value: String(p.processesPerNode) },
    { name: 'PET_NODE_RANK', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } },
    { name: 'PET_MASTER_ADDR', value: `${name}-0.${service}` },
    { name: 'PET_MASTER_PORT', value: String(masterPort) },
  ];
}

/**
 * A multi-node training group without Kubeflow Trainer: an Indexed Job with one pod per node
 * (`completions = parallelism = nodes`), each running torchrun with the PET_* variables, found by the
 * others through a headless Service. `backoffLimit: 0`: torchrun's rendezvous cannot take one pod
 * back, so one failed pod fails the group, and the pipeline starts the whole group again (a new Job
 * named `<job>-r<k>`) from the newest checkpoint on the artifacts volume. Pure.
 */
export function buildGroupJob(input: JobBuildInput): { job: V1Job; service: V1Service } {
  const { job: request, config } = input;
  const placement = request.placement!;
  const name = retryName(request);
  const service = groupServiceName(request.name);
  const base = buildJob({ ...input, job: { ...request, name } });
  const groupLabels = { [GROUP_LABEL]: request.name, [RETRY_LABEL]: String(request.retry ?? 0) };
  const template = base.spec!.template;
  const container = template.spec!.containers.find((c) => c.name === JOB_CONTAINER)!;
  container.env = [...(container.env ?? []), ...petEnv(name, service, request, config.jobs.distributed.masterPort)];
  container.ports = [{ name: 'rendezvous', containerPort: config.jobs.distributed.masterPort }];
  const job: V1Job = {
    ...base,
    metadata: { ...base.metadata, labels: { ...base.metadata!.labels, ...groupLabels } },
    spec: {
      ...base.spec!,
      completionMode: 'Indexed',
      completions: placement.nodes,
      parallelism: placement.nodes,
      backoffLimit: 0,
      template: {
        ...template,
        metadata: { ...template.metadata, labels: { ...template.metadata!.labels, ...groupLabels } },
        spec: { ...template.spec!, subdomain: service },
      },
    },
  };
  const serviceObject: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(input.owner, service, 'job', { [GROUP_LABEL]: request.name }),
    spec: {
      clusterIP: 'None',
      // Names resolve before the pods are Ready: the rendezvous is how they become ready.
      publishNotReadyAddresses: true,
      selector: { [GROUP_LABEL]: request.name },
      ports: [{ name: 'rendezvous', port: config.jobs.distributed.masterPort, targetPort: config.jobs.distributed.masterPort }],
    },
  };
  return { job, service: serviceObject };
}
