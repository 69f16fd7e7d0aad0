/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import { readFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { z } from 'zod';
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
  /** Requeue interval while Jobs run or serving rolls out (watches are not relied on for latency). */
  requeueWhileRunningSeconds: z.number().min(0.1).default(10),
  /** Re-enqueue every cached TrainingRequest this often. */
  resyncSeconds: z.number().min(1).default(300),
  /** Restart an informer that saw nothing (not even a reconnect) for this long. */
  watchdogSeconds: z.number().min(5).default(300),
  workers: z.number().int().min(1).max(64).default(2),
  leaderElection: z
    .object({
      enabled: z.boolean().default(true),
      leaseName: z.string().default('trainer-agent-operator'),
      leaseDurationSeconds: z.number().int().min(1).default(15),
      renewDeadlineSeconds: z.number().min(1).default(10),
      retryPeriodSeconds: z.number().min(0.1).default(2),
    })
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
