import type { Estimate } from './estimate.js';

/** Minimal Kubernetes object shape (apiVersion, kind, metadata, and the rest). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; ownerReferences?: OwnerReference[] };
  spec: Record<string, unknown>;
}

/** Owner reference to the TrainingRequest, so children are garbage-collected with it. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Inputs of the Triton serving objects. */
export interface TritonServingInput {
  /** Base name of the objects (the TrainingRequest's name). */
  name: string;
  namespace: string;
  /** The model name in the repository (the endpoint's `<model>`). */
  model: string;
  /** tritonserver image, e.g. `nvcr.io/nvidia/tritonserver:25.01-py3`. */
  image: string;
  estimate: Estimate;
  /** Where the model repository lives: a PVC and the path of `model-repository/` inside it. */
  repository: { claimName: string; subPath: string };
  owner?: OwnerReference;
  /** GPU resource name; `nvidia.com/gpu` by default. */
  gpuResource?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  /** HPA ceiling; twice the estimate (at least +2) by default. */
  maxReplicas?: number;
}

const PORTS = [
  { name: 'http', containerPort: 8000 },
  { name: 'grpc', containerPort: 8001 },
  { name: 'metrics', containerPort: 8002 },
];

function labelsOf(input: TritonServingInput): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'triton',
    'app.kubernetes.io/instance': input.name,
    'app.kubernetes.io/component': 'inference',
    'app.kubernetes.io/managed-by': 'trainer-agent',
    'traineragent.io/model': input.model,
  };
}

function metadata(input: TritonServingInput, suffix = ''): KubeObject['metadata'] {
  return { name: `${input.name}${suffix}`, namespace: input.namespace, labels: labelsOf(input),
    ...(input.owner ? { ownerReferences: [{ controller: true, blockOwnerDeletion: true, ...input.owner }] } : {}) };
}

/** CPU cores to request: one per model instance (Triton runs instances in parallel). */
function cpuRequest(estimate: Estimate): string {
  return String(Math.max(1, estimate.instances));
}

/** The Triton Deployment: replicas, resources and instances from the estimate; repository mounted read-only. */
export function tritonDeployment(input: TritonServingInput): KubeObject {
  const e = input.estimate;
  const gpu = e.accelerator.toLowerCase() !== 'cpu';
  const gpuResource = input.gpuResource ?? 'nvidia.com/gpu';
  const memory = String(Math.max(1, Math.ceil(e.memoryBytes)));
  const selector = { 'app.kubernetes.io/name': 'triton', 'app.kubernetes.io/instance': input.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(input),
    spec: {
      replicas: Math.max(1, e.replicas),
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsOf(input), annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8002' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          ...(input.nodeSelector ? { nodeSelector: input.nodeSelector } : {}),
          ...(input.tolerations ? { tolerations: input.tolerations } : {}),
          containers: [{
            name: 'triton',
            image: input.image,
            args: ['tritonserver', '--model-repository=/models', '--model-control-mode=explicit', `--load-model=${input.model}`,
              '--strict-readiness=true', '--exit-on-error=true'],
            ports: PORTS.map((p) => ({ ...p, protocol: 'TCP' })),
            resources: {
              requests: { cpu: cpuRequest(e), memory, ...(gpu ? { [gpuResource]: '1' } : {}) },
              limits: { memory, ...(gpu ? { [gpuResource]: '1' } : {}) },
            },
            readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
            livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
            startupProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 60 },
            volumeMounts: [{ name: 'model-repository', mountPath: '/models', subPath: input.repository.subPath, readOnly: true }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
          volumes: [{ name: 'model-repository', persistentVolumeClaim: { claimName: input.repository.claimName, readOnly: true } }],
        },
      },
    },
  };
}

/** ClusterIP Service: HTTP 8000, gRPC 8001, metrics 8002. */
export function tritonService(input: TritonServingInput): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(input),
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'triton', 'app.kubernetes.io/instance': input.name },
      ports: PORTS.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name, protocol: 'TCP' })),
    },
  };
}

/**
 * HorizontalPodAutoscaler (autoscaling/v2): the estimate's replicas are the floor; CPU utilisation
 * target 70%, the same cap the estimate plans each replica at.
 */
export function tritonHpa(input: TritonServingInput): KubeObject {
  const min = Math.max(1, input.estimate.replicas);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(input),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.name },
      minReplicas: min,
      maxReplicas: Math.max(input.maxReplicas ?? Math.max(min * 2, min + 2), min),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
}

/** The cluster URL of the model's KServe v2 endpoint. */
export function tritonEndpoint(input: Pick<TritonServingInput, 'name' | 'namespace' | 'model'>): string {
  return `http://${input.name}.${input.namespace}.svc:8000/v2/models/${input.model}`;
}
