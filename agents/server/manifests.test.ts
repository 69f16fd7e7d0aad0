/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read deep JSON documents by path */
import { describe, expect, it } from '@jest/globals';
import type { Estimate } from './estimate.js';
import { tritonDeployment, tritonEndpoint, tritonHpa, tritonService, type TritonServingInput } from './manifests.js';

const estimate: Estimate = {
  replicas: 3, perReplicaQps: 40, saturationQps: 60, targetLatencyP99Ms: 100, predictedLatencyP99Ms: 80,
  memoryBytes: 1_500_000_000, accelerator: 'cpu', instances: 2, maxBatchSize: 16, reasoning: [],
};
const input: TritonServingInput = {
  name: 'promo', namespace: 'ml', model: 'promo', image: 'nvcr.io/nvidia/tritonserver:25.01-py3', estimate,
  repository: { claimName: 'artifacts', subPath: 'ml/promo/model-repository' },
  owner: { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', name: 'promo', uid: 'u-1' },
};
const container = (d: any) => d.spec.template.spec.containers[0];

describe('tritonDeployment', () => {
  const d = tritonDeployment(input) as any;

  it('runs the estimate\'s replicas of the given tritonserver image, owned by the request', () => {
    expect(d.spec.replicas).toBe(3);
    expect(container(d).image).toBe(input.image);
    expect(d.metadata.ownerReferences[0]).toMatchObject({ kind: 'TrainingRequest', uid: 'u-1', controller: true });
    expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'triton', 'app.kubernetes.io/instance': 'promo' });
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
  });

  it('sizes resources from the estimate: memory per replica, a core per instance, no GPU on CPU', () => {
    expect(container(d).resources).toEqual({ requests: { cpu: '2', memory: '1500000000' }, limits: { memory: '1500000000' } });
  });

  it('exposes 8000/8001/8002, is ready on /v2/health/ready and mounts the repository read-only', () => {
    expect(container(d).ports.map((p: any) => p.containerPort)).toEqual([8000, 8001, 8002]);
    expect(container(d).readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(container(d).volumeMounts[0]).toEqual({ name: 'model-repository', mountPath: '/models', subPath: 'ml/promo/model-repository', readOnly: true });
    expect(d.spec.template.spec.volumes[0].persistentVolumeClaim).toEqual({ claimName: 'artifacts', readOnly: true });
    expect(container(d).args).toEqual(expect.arrayContaining(['--model-repository=/models', '--load-model=promo']));
  });

  it.each([
    { name: 'a GPU estimate requests one nvidia.com/gpu', accelerator: 'gpu', gpuResource: undefined, key: 'nvidia.com/gpu' },
    { name: 'another GPU resource name can be given', accelerator: 'nvidia-l4', gpuResource: 'amd.com/gpu', key: 'amd.com/gpu' },
  ])('$name', ({ accelerator, gpuResource, key }) => {
    const g = tritonDeployment({ ...input, estimate: { ...estimate, accelerator }, ...(gpuResource ? { gpuResource } : {}) }) as any;
    expect(container(g).resources.limits[key]).toBe('1');
    expect(container(g).resources.requests[key]).toBe('1');
  });
});

describe('tritonService and tritonHpa', () => {
  it('serves http, grpc and metrics ports to the Deployment\'s pods', () => {
    const s = tritonService(input) as any;
    expect(s.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 8000], ['grpc', 8001], ['metrics', 8002]]);
    expect(s.spec.selector).toEqual((tritonDeployment(input) as any).spec.selector.matchLabels);
  });

  it.each([
    { name: 'floor is the estimate, ceiling twice it', replicas: 3, maxReplicas: undefined, min: 3, max: 6 },
    { name: 'a single replica may still grow by two', replicas: 1, maxReplicas: undefined, min: 1, max: 3 },
    { name: 'an explicit ceiling below the floor is raised to it', replicas: 5, maxReplicas: 2, min: 5, max: 5 },
  ])('HPA: $name', ({ replicas, maxReplicas, min, max }) => {
    const h = tritonHpa({ ...input, estimate: { ...estimate, replicas }, ...(maxReplicas ? { maxReplicas } : {}) }) as any;
    expect([h.spec.minReplicas, h.spec.maxReplicas]).toEqual([min, max]);
    expect(h.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'promo' });
  });

  it('names the in-cluster endpoint', () => {
    expect(tritonEndpoint(input)).toBe('http://promo.ml.svc:8000/v2/models/promo');
  });
});
