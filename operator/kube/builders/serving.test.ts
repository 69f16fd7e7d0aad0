import type { Estimate } from '../../../agents/server/estimate.js';
import type { TrainingRequest } from '../../api/training-request.js';
import { OperatorConfig } from '../config.js';
import { buildApiDocConfigMap, buildTritonDeployment, buildTritonHpa, buildTritonService, servingUrl } from './serving.js';
import { apiDocConfigMapName, dns1035, servingName } from './meta.js';

const owner = { name: 'spam-filter', namespace: 'team-a', uid: 'uid-1' };
const config = OperatorConfig.parse({ images: { triton: 'triton:1' } });
const spec = { requirement: 'x', approval: 'auto' } as TrainingRequest['spec'];
const estimate = (extra: Partial<Estimate> = {}): Estimate => ({ replicas: 3, perReplicaQps: 40, saturationQps: 57, targetLatencyP99Ms: 100, predictedLatencyP99Ms: 20, memoryBytes: 900_000_000, accelerator: 'cpu', instances: 2, maxBatchSize: 8, reasoning: [], ...extra });
const input = (extra: Partial<Parameters<typeof buildTritonDeployment>[0]> = {}) => ({ owner, spec, config, model: 'spam-filter', repositoryDir: '/artifacts/team-a/spam-filter/jobs/c/model-repository', estimate: estimate(), ...extra });

describe('serving builders', () => {
  it.each([
    { name: '3 CPU replicas of 900 MB each', estimate: estimate(), replicas: undefined, want: { replicas: 3, memory: '900000000', gpu: undefined } },
    { name: 'the HPA scaled up: keep its count', estimate: estimate(), replicas: 5, want: { replicas: 5, memory: '900000000', gpu: undefined } },
    { name: 'a GPU estimate gets one GPU per replica', estimate: estimate({ accelerator: 'gpu', replicas: 1 }), replicas: undefined, want: { replicas: 1, memory: '900000000', gpu: '1' } },
    { name: 'a tiny estimate still gets 256 MiB', estimate: estimate({ memoryBytes: 1000 }), replicas: undefined, want: { replicas: 3, memory: String(256 * 1024 * 1024), gpu: undefined } },
  ])('Deployment: $name', ({ estimate, replicas, want }) => {
    const d = buildTritonDeployment(input({ estimate, ...(replicas ? { replicas } : {}) }));
    const c = d.spec!.template.spec!.containers[0]!;
    expect(d.spec!.replicas).toBe(want.replicas);
    expect(c.resources!.limits!['memory']).toBe(want.memory);
    expect(c.resources!.limits!['nvidia.com/gpu']).toBe(want.gpu);
  });

  it('serves the model repository from the artifacts volume, read-only, with KServe v2 probes', () => {
    const d = buildTritonDeployment(input());
    const pod = d.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe('triton:1');
    expect(c.args).toContain('--model-repository=/artifacts/team-a/spam-filter/jobs/c/model-repository');
    expect(c.readinessProbe!.httpGet!.path).toBe('/v2/health/ready');
    expect(pod.volumes![0]).toEqual({ name: 'artifacts', persistentVolumeClaim: { claimName: 'trainer-agent-artifacts', readOnly: true } });
    expect(d.metadata!.name).toBe('spam-filter-triton');
    expect(d.metadata!.annotations!['traineragent.io/model']).toBe('spam-filter');
    expect(d.spec!.selector.matchLabels).toEqual({ 'traineragent.io/request': 'spam-filter', 'traineragent.io/component': 'serving' });
  });

  it('Service exposes http, grpc and metrics; URL is in-cluster', () => {
    const s = buildTritonService({ owner });
    expect(s.spec!.ports!.map((p) => [p.name, p.port])).toEqual([['http', 8000], ['grpc', 8001], ['metrics', 8002]]);
    expect(servingUrl(owner)).toBe('http://spam-filter-triton.team-a.svc:8000');
  });

  it.each([
    { replicas: 3, factor: 2, min: 3, max: 6 },
    { replicas: 1, factor: 1.5, min: 1, max: 2 },
    { replicas: 0, factor: 2, min: 1, max: 2 },
  ])('HPA for $replicas replicas × $factor: $min..$max', ({ replicas, factor, min, max }) => {
    const cfg = OperatorConfig.parse({ serving: { autoscaling: { maxReplicasFactor: factor } } });
    const h = buildTritonHpa({ owner, config: cfg, estimate: estimate({ replicas }) });
    expect([h.spec!.minReplicas, h.spec!.maxReplicas]).toEqual([min, max]);
    expect(h.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'spam-filter-triton' });
  });

  it.each([
    { name: 'an estimate within the cap is written as it is', replicas: 40, cap: 100, deployment: 40, hpa: [40, 80] },
    { name: 'the HPA maximum stops at the cap', replicas: 70, cap: 100, deployment: 70, hpa: [70, 100] },
    { name: 'a stale estimate past the cap never reaches the Deployment or the HPA', replicas: 2_098_686, cap: 100, deployment: 100, hpa: [100, 100] },
  ])('replica cap: $name', ({ replicas, cap, deployment, hpa }) => {
    const cfg = OperatorConfig.parse({ serving: { maxReplicas: cap, autoscaling: { maxReplicasFactor: 2 } } });
    const d = buildTritonDeployment({ owner, spec: { requirement: 'x', approval: 'auto' }, config: cfg, model: 'm', repositoryDir: '/artifacts/r', estimate: estimate({ replicas }) });
    expect(d.spec!.replicas).toBe(deployment);
    const h = buildTritonHpa({ owner, config: cfg, estimate: estimate({ replicas }) });
    expect([h.spec!.minReplicas, h.spec!.maxReplicas]).toEqual(hpa);
  });

  it('API doc ConfigMap carries the files under the request name', () => {
    const cm = buildApiDocConfigMap(owner, { 'openapi.json': '{}', 'README.md': '# API' });
    expect(cm.metadata!.name).toBe(apiDocConfigMapName('spam-filter'));
    expect(cm.data).toEqual({ 'openapi.json': '{}', 'README.md': '# API' });
    expect(cm.metadata!.ownerReferences![0]!.uid).toBe('uid-1');
  });

  it.each([
    { base: 'spam-filter', suffix: 'triton', want: 'spam-filter-triton' },
    { base: '1st-model', suffix: 'triton', want: 'r-1st-model-triton' },
    { base: 'a'.repeat(63), suffix: 'triton', want: `${'a'.repeat(56)}-triton` },
  ])('DNS-1035 name of $base', ({ base, suffix, want }) => {
    expect(dns1035(base, suffix)).toBe(want);
    expect(want.length).toBeLessThanOrEqual(63);
  });

  it('serving name is stable', () => expect(servingName('x')).toBe('x-triton'));
});
