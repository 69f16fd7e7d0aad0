import type { V1Job, V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
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

/** GPUs a job gets: the request's count when the pipeline wants a GPU for it, else none. */
export function gpuCount(spec: TrainingRequest['spec'], job: Pick<JobRequest, 'gpu'>): number {
  return job.gpu ? (spec.resources?.gpu?.count ?? 0) : 0;
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
  const resources = {
    ...(config.jobs.resources.requests ? { requests: { ...stringify(config.jobs.resources.requests) } } : {}),
    limits: { ...stringify(config.jobs.resources.limits ?? {}), ...(gpus > 0 ? { [GPU_RESOURCE]: String(gpus) } : {}) },
  };
  if (Object.keys(resources.limits).length === 0) delete (resources as { limits?: unknown }).limits;
  const env = [
    { name: 'PYTHONUNBUFFERED', value: '1' },
    { name: 'MPLBACKEND', value: 'Agg' },
    { name: 'HOME', value: '/tmp' },
    { name: 'TRAINER_AGENT_JOB_NAME', value: job.name },
    ...(config.jobs.pythonPath ? [{ name: 'PYTHONPATH', value: config.jobs.pythonPath }] : []),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta,
    spec: {
      backoffLimit: config.jobs.backoffLimit,
      activeDeadlineSeconds: config.jobs.activeDeadlineSeconds,
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
              command: ['python', '-m', `trainer_agent_jobs.${job.kind}`],
              args: ['--spec', `${job.outDir}/spec.json`, '--out', job.outDir, '--termination-log', TERMINATION_LOG],
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
