import type { V1ConfigMap, V1Deployment, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Estimate } from '../../../agents/server/estimate.js';
import type { TrainingRequest } from '../../api/training-request.js';
import type { OperatorConfig } from '../config.js';
import { GPU_RESOURCE, artifactsVolume } from './job.js';
import { MODEL_ANNOTATION, REPOSITORY_ANNOTATION, apiDocConfigMapName, childMeta, servingName, type Owner } from './meta.js';

/** KServe v2 ports of Triton. */
export const TRITON_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;

/** What the serving builders read. */
export interface ServingBuildInput {
  owner: Owner;
  spec: TrainingRequest['spec'];
  config: OperatorConfig;
  model: string;
  repositoryDir: string;
  estimate: Estimate;
  /**
   * Replicas to write into the Deployment. With autoscaling the HPA owns scaling, so the backend
   * passes max(estimate, current) to never scale down what the HPA scaled up.
   */
  replicas?: number;
}

/** Whether the estimate asks for an accelerator (anything but `cpu`). */
export function wantsGpu(estimate: Estimate): boolean {
  return estimate.accelerator !== 'cpu';
}

/** Selector labels of the serving pods. */
export function servingSelector(owner: Owner): Record<string, string> {
  return { 'traineragent.io/request': owner.name, 'traineragent.io/component': 'serving' };
}

/**
 * The Triton Deployment serving the model repository from the artifacts volume (read-only), with
 * replicas and memory from the Server agent's estimate. Applied with server-side apply.
 */
export function buildTritonDeployment(input: ServingBuildInput): V1Deployment {
  const { owner, spec, config, estimate } = input;
  const name = servingName(owner.name);
  const gpu = wantsGpu(estimate);
  const artifacts = artifactsVolume(spec, config, true);
  const memory = String(Math.max(estimate.memoryBytes, 256 * 1024 * 1024));
  const runtimeClassName = gpu && config.serving.gpuRuntimeClassName ? config.serving.gpuRuntimeClassName : config.serving.runtimeClassName;
  const nodeSelector = { ...config.serving.nodeSelector, ...(gpu && spec.resources?.gpu?.type ? { 'nvidia.com/gpu.product': spec.resources.gpu.type } : {}) };
  const tolerations = [...config.serving.tolerations, ...(gpu ? [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }] : [])];
  const labels = servingSelector(owner);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(owner, name, 'serving', {}, { [MODEL_ANNOTATION]: input.model, [REPOSITORY_ANNOTATION]: input.repositoryDir }),
    spec: {
      replicas: cappedReplicas(input.replicas ?? estimate.replicas, config),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...childMeta(owner, name, 'serving').labels, ...labels }, annotations: { [MODEL_ANNOTATION]: input.model, [REPOSITORY_ANNOTATION]: input.repositoryDir } },
        spec: {
          automountServiceAccountToken: false,
          ...(runtimeClassName ? { runtimeClassName } : {}),
          ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
          ...(tolerations.length ? { tolerations } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'triton',
              image: config.images.triton,
              imagePullPolicy: config.images.pullPolicy,
              command: ['tritonserver'],
              args: [`--model-repository=${input.repositoryDir}`, `--http-port=${TRITON_PORTS.http}`, `--grpc-port=${TRITON_PORTS.grpc}`, `--metrics-port=${TRITON_PORTS.metrics}`, '--strict-readiness=true', '--exit-on-error=true'],
              ports: [
                { name: 'http', containerPort: TRITON_PORTS.http },
                { name: 'grpc', containerPort: TRITON_PORTS.grpc },
                { name: 'metrics', containerPort: TRITON_PORTS.metrics },
              ],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 6, initialDelaySeconds: 10 },
              resources: {
                requests: { cpu: config.serving.cpu, memory },
                limits: { memory, ...(gpu ? { [GPU_RESOURCE]: '1' } : {}) },
              },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [artifacts.mount, { name: 'shm', mountPath: '/dev/shm' }],
            },
          ],
          volumes: [artifacts.volume, { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
        },
      },
    },
  };
}

/** ClusterIP Service in front of the Triton pods (http, grpc, metrics). */
export function buildTritonService(input: Pick<ServingBuildInput, 'owner'>): V1Service {
  const name = servingName(input.owner.name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(input.owner, name, 'serving'),
    spec: {
      type: 'ClusterIP',
      selector: servingSelector(input.owner),
      ports: Object.entries(TRITON_PORTS).map(([port, number]) => ({ name: port, port: number, targetPort: port, protocol: 'TCP' })),
    },
  };
}

/**
 * Replicas written into a Deployment or an HPA never exceed the configured cap (`serving.maxReplicas`),
 * whatever an estimate or the HPA's own scaling asks: the Server agent already refuses a plan that
 * needs more, so this only guards against a stale or hand-edited status.
 */
export function cappedReplicas(replicas: number, config: Pick<OperatorConfig, 'serving'>): number {
  return Math.min(Math.max(0, Math.floor(replicas)), config.serving.maxReplicas);
}

/** HPA on CPU between the estimated replicas and `maxReplicasFactor` times that, within the replica cap. */
export function buildTritonHpa(input: Pick<ServingBuildInput, 'owner' | 'config' | 'estimate'>): V2HorizontalPodAutoscaler {
  const name = servingName(input.owner.name);
  const min = Math.max(1, cappedReplicas(input.estimate.replicas, input.config));
  const { maxReplicasFactor, targetCPUUtilizationPercentage } = input.config.serving.autoscaling;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMeta(input.owner, name, 'serving'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: min,
      maxReplicas: Math.max(min, cappedReplicas(Math.ceil(min * maxReplicasFactor), input.config)),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }],
    },
  };
}

/** The in-cluster URL of the serving endpoint (the pipeline appends /v2/models/<model>). */
export function servingUrl(owner: Pick<Owner, 'name' | 'namespace'>): string {
  return `http://${servingName(owner.name)}.${owner.namespace}.svc:${TRITON_PORTS.http}`;
}

/** The ConfigMap that carries the API document (openapi.json, README.md), for `kubectl get cm`. */
export function buildApiDocConfigMap(owner: Owner, files: Record<string, string>): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(owner, apiDocConfigMapName(owner.name), 'api-doc'),
    data: { ...files },
  };
}
