import type { V1EnvVar, V1Job, V1ResourceRequirements, V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { TrainingRequest } from '../../api/training-request.js';
import type { JobRequest } from '../../pipeline/types.js';
import type { OperatorConfig } from '../config.js';
import { JOB_KIND_LABEL, childMeta, type Owner } from './meta.js';

/** Path of the termination message file in job containers (the kubelet's default). */
export const TERMINATION_LOG = '/dev/termination-log';
/** Name of the one container of a job pod. */
export const JOB_CONTAINER = 'job';
/** Extended resource name of NVIDIA GPUs. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/** Node label GPU feature discovery sets to the GPU model. */
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';

/** A PVC a job mounts besides the artifacts volume (from `pvc://claim/path` sources). */
export interface DataMount {
  claimName: string;
  mountPath: string;
}

/** Everything the Job builder reads. */
export interface JobBuildInput {
  owner: Owner;
  spec: TrainingRequest['spec'];
  job: JobRequest;
  config: OperatorConfig;
  /** Other PVCs the job reads data from, read-only. */
  dataMounts?: DataMount[];
  /** Annotations of the Job object (not its pods). */
  annotations?: Record<string, string>;
}

/** The artifacts PVC of a request: its own, or the chart's default claim. */
export function artifactsVolume(spec: TrainingRequest['spec'], config: OperatorConfig, readOnly = false): { volume: V1Volume; mount: V1VolumeMount } {
  const pvc = spec.storage?.pvc;
  return {
    volume: { name: 'artifacts', persistentVolumeClaim: { claimName: pvc?.claimName ?? config.artifacts.claimName, ...(readOnly ? { readOnly: true } : {}) } },
    mount: { name: 'artifacts', mountPath: config.artifacts.mountPath, ...(pvc?.subPath ? { subPath: pvc.subPath } : {}), ...(readOnly ? { readOnly: true } : {}) },
  };
}

/** Label Kueue reads from a Job (or TrainJob): the LocalQueue it waits in. */
export const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** Label on the Jobs of a multi-node group and their pods: the pipeline's job name (all retries share it). */
export const GROUP_LABEL = 'traineragent.io/group';
/** Label and annotation on a group's Job: which retry of the group it is. */
export const RETRY_LABEL = 'traineragent.io/retry';

/**
 * GPUs per pod: the Model agent's placement (GPUs per node) when the pipeline wants GPUs for the job,
 * else the request's count (default 1 when it asks for GPUs at all); none for jobs that do not want one.
 */
export function gpuCount(spec: TrainingRequest['spec'], job: Pick<JobRequest, 'gpu' | 'placement'>): number {
  if (!job.gpu) return 0;
  if (job.placement) return job.placement.gpusPerNode;
  const gpu = spec.resources?.gpu;
  return gpu ? (gpu.count ?? 1) : 0;
}

/** The Kueue LocalQueue of a request's Jobs: its own, else the chart's default; undefined: none. */
export function queueName(spec: TrainingRequest['spec'], config: OperatorConfig): string | undefined {
  return spec.resources?.queueName || config.jobs.queueName || undefined;
}

/** The job's deadline: the chart's, or sooner when the GPU-hour budget leaves less. */
export function jobDeadline(job: Pick<JobRequest, 'deadlineSeconds'>, config: OperatorConfig): number {
  return Math.min(config.jobs.activeDeadlineSeconds, job.deadlineSeconds ?? Infinity);
}

/**
 * Command and arguments of a job's container: `python -m trainer_agent_jobs.<kind> --spec ... --out
 * ... --termination-log ...`, or under `torchrun` when the placement runs several processes — on one
 * node `--standalone` (a free local rendezvous port), across nodes with the PET_* variables of the pod
 * (Kubeflow Trainer injects them; the Indexed Job sets them).
 */
export function jobCommand(job: Pick<JobRequest, 'kind' | 'outDir' | 'placement'>): { command: string[]; args: string[] } {
  const args = ['--spec', `${job.outDir}/spec.json`, '--out', job.outDir, '--termination-log', TERMINATION_LOG];
  const p = job.placement;
  if (!p || p.nodes * p.processesPerNode <= 1) return { command: ['python', '-m', `trainer_agent_jobs.${job.kind}`], args };
  const rendezvous = p.nodes > 1 ? [] : ['--standalone'];
  return { command: ['torchrun'], args: [...rendezvous, `--nproc_per_node=${p.processesPerNode}`, '-m', `trainer_agent_jobs.${job.kind}`, ...args] };
}

/** Environment every job container gets. */
export function jobEnv(job: Pick<JobRequest, 'name'>, config: OperatorConfig): V1EnvVar[] {
  return [
    { name: 'PYTHONUNBUFFERED', value: '1' },
    { name: 'MPLBACKEND', value: 'Agg' },
    { name: 'HOME', value: '/tmp' },
    { name: 'TRAINER_AGENT_JOB_NAME', value: job.name },
    ...(config.jobs.pythonPath ? [{ name: 'PYTHONPATH', value: config.jobs.pythonPath }] : []),
  ];
}

/** Requests and limits of a job container: the chart's, plus the GPUs. */
export function jobResources(config: OperatorConfig, gpus: number): V1ResourceRequirements {
  const resources = {
    ...(config.jobs.resources.requests ? { requests: { ...stringify(config.jobs.resources.requests) } } : {}),
    limits: { ...stringify(config.jobs.resources.limits ?? {}), ...(gpus > 0 ? { [GPU_RESOURCE]: String(gpus) } : {}) },
  };
  if (Object.keys(resources.limits).length === 0) delete (resources as { limits?: unknown }).limits;
  return resources;
}

/** Tolerations: the chart's, the request's, and the usual GPU taint for GPU jobs (no duplicates). */
export function jobTolerations(spec: TrainingRequest['spec'], config: OperatorConfig, gpus: number): V1Toleration[] {
  const all: V1Toleration[] = [...config.jobs.tolerations, ...(spec.resources?.tolerations ?? [])];
  if (gpus > 0) all.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  const seen = new Set<string>();
  return all.filter((t) => {
    const key = JSON.stringify([t.key, t.operator, t.value, t.effect, t.tolerationSeconds]);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * The Job that runs one pipeline job: `python -m trainer_agent_jobs.<kind> --spec <outDir>/spec.json
 * --out <outDir> --termination-log /dev/termination-log` from the trainer (data, train) or
 * converter (convert) image, with the artifacts volume at a fixed path. Pure: same input, same Job.
 */
export function buildJob(input: JobBuildInput): V1Job {
  const { owner, spec, job, config } = input;
  const gpus = gpuCount(spec, job);
  const image = job.kind === 'convert' ? config.images.converter : config.images.trainer;
  const artifacts = artifactsVolume(spec, config);
  const dataMounts = input.dataMounts ?? [];
  const labels = { [JOB_KIND_LABEL]: job.kind, ...(job.attempt ? { 'traineragent.io/attempt': String(job.attempt) } : {}) };
  const meta = childMeta(owner, job.name, 'job', labels, input.annotations);
  const nodeSelector = { ...config.jobs.nodeSelector, ...(spec.resources?.nodeSelector ?? {}), ...(gpus > 0 && spec.resources?.gpu?.type ? { 'nvidia.com/gpu.product': spec.resources.gpu.type } : {}) };
  const tolerations = jobTolerations(spec, config, gpus);
  const runtimeClassName = gpus > 0 && config.jobs.gpuRuntimeClassName ? config.jobs.gpuRuntimeClassName : config.jobs.runtimeClassName;
  const resources = jobResources(config, gpus);
  const env = jobEnv(job, config);
  const queue = queueName(spec, config);
  const { command, args } = jobCommand(job);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    // Kueue reads its queue from the Job, not from the pods.
    metadata: queue ? { ...meta, labels: { ...meta.labels, [QUEUE_LABEL]: queue } } : meta,
    spec: {
      backoffLimit: config.jobs.backoffLimit,
      activeDeadlineSeconds: jobDeadline(job, config),
      // Evictions, preemptions and node drains are not the job's fault: retry without counting them.
      podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
      template: {
        metadata: {
          labels: { ...config.jobs.podLabels, ...meta.labels },
          ...(Object.keys(config.jobs.podAnnotations).length ? { annotations: { ...config.jobs.podAnnotations } } : {}),
        },
        spec: {
          restartPolicy: 'Never',
          ...(config.jobs.serviceAccountName ? { serviceAccountName: config.jobs.serviceAccountName } : {}),
          automountServiceAccountToken: false,
          ...(runtimeClassName ? { runtimeClassName } : {}),
          ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
          ...(tolerations.length ? { tolerations } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'job',
              image,
              imagePullPolicy: config.images.pullPolicy,
              command,
              args,
              env,
              resources,
              terminationMessagePath: TERMINATION_LOG,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                artifacts.mount,
                { name: 'tmp', mountPath: '/tmp' },
                ...dataMounts.map((m, i) => ({ name: `data-${i}`, mountPath: m.mountPath, readOnly: true })),
                ...(gpus > 0 ? [{ name: 'dshm', mountPath: '/dev/shm' }] : []),
              ],
            },
          ],
          volumes: [
            artifacts.volume,
            { name: 'tmp', emptyDir: {} },
            ...dataMounts.map((m, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: m.claimName, readOnly: true } })),
            // PyTorch data loaders need more shared memory than the container default.
            ...(gpus > 0 ? [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } }] : []),
          ],
        },
      },
    },
  };
}

function stringify(list: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(v)]));
}
