/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import { readFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { z } from 'zod';
import { Framework } from '../../agents/model/catalog.js';
import { BOUNDS, DEFAULT_MAX_REPLICAS } from '../../agents/task/bounds.js';

const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});
const ResourceList = z.record(z.string(), z.union([z.string(), z.number()]));
const ResourceRequirements = z.object({ requests: ResourceList.optional(), limits: ResourceList.optional() });

/**
 * The operator's settings: images, where the artifacts volume is mounted, scheduling defaults for
 * Jobs and serving. The chart renders them into a ConfigMap (`--config`); images also come from
 * environment variables so a values change of an image tag is a plain env change.
 */
export const OperatorConfig = z.object({
  /** Namespace to watch; empty watches all namespaces. */
  watchNamespace: z.string().default(''),
  /** The operator's own namespace (for its Lease). */
  namespace: z.string().default('trainer-agent-system'),
  images: z
    .object({
      trainer: z.string().default('ghcr.io/traineragent/trainer:0.1.0'),
      converter: z.string().default('ghcr.io/traineragent/converter:0.1.0'),
      triton: z.string().default('nvcr.io/nvidia/tritonserver:25.01-py3'),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    })
    .prefault({}),
  artifacts: z
    .object({
      /** PVC that holds artifacts when a request names none (in the request's namespace). */
      claimName: z.string().default('trainer-agent-artifacts'),
      /** Where Jobs and Triton mount the artifacts volume; artifact paths in status start here. */
      mountPath: z.string().default('/artifacts'),
      /**
       * Where this operator process sees that same storage (its own mount of the volume), to write
       * job specs and read result.json. Empty: same as mountPath.
       */
      localPath: z.string().default(''),
      /** Where this process sees other claims (`claimName → path`), for requests that name their own. */
      localPaths: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
  /** Where Jobs mount other PVCs named by `pvc://claim/path` sources. */
  dataMountPath: z.string().default('/mnt/data'),
  jobs: z
    .object({
      activeDeadlineSeconds: z.number().int().min(60).default(24 * 3600),
      backoffLimit: z.number().int().min(0).max(10).default(1),
      serviceAccountName: z.string().default(''),
      /** runtimeClassName for GPU jobs (e.g. `nvidia`); empty leaves it unset. */
      gpuRuntimeClassName: z.string().default(''),
      runtimeClassName: z.string().default(''),
      nodeSelector: z.record(z.string(), z.string()).default({}),
      tolerations: z.array(Toleration).default([]),
      podAnnotations: z.record(z.string(), z.string()).default({}),
      podLabels: z.record(z.string(), z.string()).default({}),
      resources: ResourceRequirements.default({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '8Gi' } }),
      /** PYTHONPATH for the job container; empty leaves the image's own. */
      pythonPath: z.string().default(''),
      /** Frameworks the trainer image has (the published one has PyTorch; drop torch for a scikit-learn-only image). */
      frameworks: z.array(Framework).min(1).default(['sklearn', 'torch']),
      /** Kueue LocalQueue for every Job (label kueue.x-k8s.io/queue-name) when a request names none; empty: no label. */
      queueName: z.string().max(63).default(''),
      /** Training across GPUs and nodes (torchrun; DistributedDataParallel). */
      distributed: z
        .object({
          /**
           * How a multi-node training job runs: a Kubeflow Trainer TrainJob (`trainjob`), an Indexed Job
           * with a headless Service (`indexed-job`), or `auto`: a TrainJob when the cluster serves
           * trainjobs.trainer.kubeflow.org, the Indexed Job otherwise.
           */
          engine: z.enum(['auto', 'trainjob', 'indexed-job']).default('auto'),
          /** The (Cluster)TrainingRuntime TrainJobs refer to; it must mount the artifacts volume at artifacts.mountPath. */
          runtimeRef: z
            .object({ name: z.string().min(1).max(253).default('torch-distributed'), kind: z.enum(['ClusterTrainingRuntime', 'TrainingRuntime']).default('ClusterTrainingRuntime') })
            .prefault({}),
          /** GPUs the largest node offers one pod: the Model agent sizes jobs within it. */
          maxGpusPerNode: z.number().int().min(1).max(BOUNDS.gpusPerNode).default(8),
          /** Most nodes the Model agent spreads one training job over. */
          maxNodes: z.number().int().min(1).max(BOUNDS.nodes).default(4),
          /** torchrun's rendezvous port on the first pod of an Indexed Job (Kubeflow Trainer uses 29500 too). */
          masterPort: z.number().int().min(1024).max(65535).default(29500),
        })
        .prefault({}),
    })
    .prefault({}),
  serving: z
    .object({
      runtimeClassName: z.string().default(''),
      gpuRuntimeClassName: z.string().default(''),
      nodeSelector: z.record(z.string(), z.string()).default({}),
      tolerations: z.array(Toleration).default([]),
      cpu: z.string().default('1'),
      /** Most serving replicas one request may get; the Server agent refuses a plan that needs more. */
      maxReplicas: z.number().int().min(1).max(BOUNDS.maxReplicasCap).default(DEFAULT_MAX_REPLICAS),
      autoscaling: z
        .object({
          enabled: z.boolean().default(true),
          /** maxReplicas = ceil(estimated replicas × this). */
          maxReplicasFactor: z.number().min(1).max(20).default(2),
          targetCPUUtilizationPercentage: z.number().int().min(1).max(100).default(70),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * Safety requeue while Jobs run or serving rolls out. Watch events on Jobs, Pods and the
   * Deployment drive progress; this only bounds how long a missed event can delay it (±20% jitter).
   */
  requeueWhileRunningSeconds: z.number().min(0.1).default(300),
  /** Reconcile every cached TrainingRequest once per this period, spread evenly over it. */
  resyncSeconds: z.number().min(1).default(600),
  /** Restart a watch that received nothing, not even a bookmark, for this long. */
  watchdogSeconds: z.number().min(5).default(330),
  /** Staging of data sources (hashing, downloads), on a worker thread. */
  sources: z
    .object({
      /** Revalidate a staged source (fingerprint, then hash if changed) at most this often. */
      recheckSeconds: z.number().min(1).default(60),
      /** Sources hashed or downloaded at once. */
      concurrency: z.number().int().min(1).max(32).default(4),
      /** Largest https:// download. */
      maxDownloadBytes: z.number().int().min(1).default(20 * 1024 ** 3),
      /** Deadline of one https:// download, connection to last byte. */
      downloadTimeoutSeconds: z.number().min(1).default(3600),
    })
    .prefault({}),
  workers: z.number().int().min(1).max(64).default(2),
  leaderElection: z
    .object({
      enabled: z.boolean().default(true),
      leaseName: z.string().default('trainer-agent-operator'),
      leaseDurationSeconds: z.number().int().min(1).default(15),
      /** Step down when no renewal succeeded for this long (shorter than the lease: no overlap). */
      renewDeadlineSeconds: z.number().min(0.5).default(10),
      retryPeriodSeconds: z.number().min(0.1).default(2),
    })
    .refine((le) => le.renewDeadlineSeconds < le.leaseDurationSeconds, { message: 'renewDeadlineSeconds must be shorter than leaseDurationSeconds, so a leader has stopped before its lease can be taken over', path: ['renewDeadlineSeconds'] })
    .prefault({}),
});
export type OperatorConfig = z.infer<typeof OperatorConfig>;

/** Environment variables that win over the config file (the chart sets the images this way). */
const ENV_OVERRIDES: [string, (c: Record<string, any>, v: string) => void][] = [
  ['TRAINER_AGENT_TRAINER_IMAGE', (c, v) => ((c['images'] ??= {}).trainer = v)],
  ['TRAINER_AGENT_CONVERTER_IMAGE', (c, v) => ((c['images'] ??= {}).converter = v)],
  ['TRAINER_AGENT_TRITON_IMAGE', (c, v) => ((c['images'] ??= {}).triton = v)],
  ['TRAINER_AGENT_IMAGE_PULL_POLICY', (c, v) => ((c['images'] ??= {}).pullPolicy = v)],
  ['TRAINER_AGENT_WATCH_NAMESPACE', (c, v) => (c['watchNamespace'] = v)],
  ['POD_NAMESPACE', (c, v) => (c['namespace'] ??= v)],
  ['TRAINER_AGENT_ARTIFACTS_LOCAL_PATH', (c, v) => ((c['artifacts'] ??= {}).localPath = v)],
];

/** Read and validate the config: file (YAML or JSON) if given, then environment overrides. */
export function loadOperatorConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, extra: Record<string, unknown> = {}): OperatorConfig {
  const raw: Record<string, any> = file ? ((parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {}) : {};
  for (const [name, set] of ENV_OVERRIDES) {
    const value = env[name];
    if (value) set(raw, value);
  }
  return OperatorConfig.parse(deepMerge(raw, extra));
}

function deepMerge(a: Record<string, any>, b: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? deepMerge(a[k], v) : v;
  }
  return out;
}

/** Where the operator itself reads and writes the artifacts volume. */
export function artifactsLocalRoot(config: OperatorConfig): string {
  return config.artifacts.localPath || config.artifacts.mountPath;
}
