/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { chartDir, helm, helmBinary, repoRoot } from './helm.js';

type Doc = { kind: string; metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [k: string]: any };
const bin = helmBinary();
const withHelm = bin ? describe : describe.skip;
if (!bin) console.warn('helm is not available: skipping helm lint/template tests (run e2e/cluster/build.sh)');

function render(...sets: string[]): Doc[] {
  const out = helm(['template', 'ta', '.', '--namespace', 'ta-system', ...sets.flatMap((s) => ['--set', s])]);
  return (loadAll(out) as Doc[]).filter(Boolean);
}
const find = (docs: Doc[], kind: string, name?: string) => docs.find((d) => d.kind === kind && (!name || d.metadata.name === name));

describe('chart CRDs', () => {
  it('are byte-identical copies of crds/ (run charts/trainer-agent/scripts/sync-crds.sh after npm run crd)', () => {
    const generated = readdirSync(join(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml'));
    expect(readdirSync(join(chartDir, 'files', 'crds')).sort()).toEqual(generated.sort());
    for (const file of generated) {
      expect(readFileSync(join(chartDir, 'files', 'crds', file), 'utf8')).toBe(readFileSync(join(repoRoot, 'crds', file), 'utf8'));
    }
  });
});

withHelm('helm', () => {
  it('lints strictly', () => {
    expect(() => helm(['lint', '.', '--strict'])).not.toThrow();
  });

  it('renders the CRD with a keep policy, and none with crds.enabled=false', () => {
    const crd = find(render(), 'CustomResourceDefinition')!;
    expect(crd.metadata.name).toBe('trainingrequests.traineragent.io');
    expect(crd.metadata.annotations!['helm.sh/resource-policy']).toBe('keep');
    expect(crd.spec.versions[0].subresources).toEqual({ status: {} });
    expect(find(render('crds.enabled=false'), 'CustomResourceDefinition')).toBeUndefined();
  });

  it('runs the operator restricted, probed, with images wired through the environment', () => {
    const d = find(render('jobImages.trainer=reg/trainer:9'), 'Deployment')!;
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.args[0]).toBe('operator');
    const env = Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ TRAINER_AGENT_TRAINER_IMAGE: 'reg/trainer:9', TRAINER_AGENT_CONVERTER_IMAGE: expect.any(String), TRAINER_AGENT_TRITON_IMAGE: expect.any(String) });
    // The memory settings the scale benchmark measured the operator with.
    expect(env).toMatchObject({ NODE_OPTIONS: '--max-semi-space-size=1 --max-old-space-size=256', MALLOC_ARENA_MAX: '2' });
    expect(d.spec.strategy).toBeUndefined();
  });

  it('uses Recreate with one replica when leader election is off', () => {
    const d = find(render('leaderElection.enabled=false'), 'Deployment')!;
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('grants least privilege: no wildcards, secrets get only, leases only in the release namespace', () => {
    const docs = render();
    const role = find(docs, 'ClusterRole', 'ta-trainer-agent')!;
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.verbs).not.toContain('delete');
    }
    const verbs = (resource: string) => rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
    expect(verbs('secrets')).toEqual(['get']);
    expect(verbs('trainingrequests/status')).toEqual(['get', 'patch', 'update']);
    expect(verbs('trainingrequests/finalizers')).toEqual(['update']);
    expect(verbs('pods')).toEqual(['get', 'list', 'watch']);
    expect(verbs('leases')).toEqual([]);
    const leaseRole = find(docs, 'Role')!;
    expect(leaseRole.metadata).toMatchObject({ namespace: 'ta-system' });
    expect(leaseRole.rules[0]).toEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] });
  });

  it('aggregates TrainingRequest access into admin, edit and view', () => {
    const docs = render();
    for (const role of ['admin', 'edit', 'view']) {
      expect(find(docs, 'ClusterRole', `ta-trainer-agent-${role}`)!.metadata.labels![`rbac.authorization.k8s.io/aggregate-to-${role}`]).toBe('true');
    }
    expect(find(docs, 'ClusterRole', 'ta-trainer-agent-view')!.rules[0].verbs).toEqual(['get', 'list', 'watch']);
  });

  it('renders a ServiceMonitor only when asked', () => {
    expect(find(render(), 'ServiceMonitor')).toBeUndefined();
    expect(find(render('metrics.serviceMonitor.enabled=true'), 'ServiceMonitor')!.spec.endpoints[0].path).toBe('/metrics');
  });

  it('passes the operator a config it accepts', async () => {
    const { OperatorConfig } = await import('../../../operator/kube/config.js');
    const cm = find(render('jobs.podAnnotations.a=b'), 'ConfigMap', 'ta-trainer-agent-config')!;
    const config = OperatorConfig.parse(load(cm.data['config.yaml']));
    expect(config.jobs.podAnnotations).toEqual({ a: 'b' });
    expect(config.leaderElection.leaseName).toBe('ta-trainer-agent-leader');
    expect(config.namespace).toBe('ta-system');
    // Watch events drive progress: the requeue is a slow safety net, the resync spread out.
    expect(config.requeueWhileRunningSeconds).toBe(300);
    expect(config.resyncSeconds).toBe(600);
    expect(config.sources).toEqual({ recheckSeconds: 60, concurrency: 4, maxDownloadBytes: 20 * 1024 ** 3, downloadTimeoutSeconds: 3600 });
    expect(config.serving.maxReplicas).toBe(100);
  });

  it('passes the serving replica cap to the operator, and refuses one out of bounds', async () => {
    const { OperatorConfig } = await import('../../../operator/kube/config.js');
    const cm = find(render('serving.maxReplicas=7'), 'ConfigMap', 'ta-trainer-agent-config')!;
    expect(OperatorConfig.parse(load(cm.data['config.yaml'])).serving.maxReplicas).toBe(7);
    expect(() => render('serving.maxReplicas=0')).toThrow(/maxReplicas/);
  });

  it('configures distributed training and Kueue, and renders a TrainJob runtime with the artifacts claim only when asked', async () => {
    const { OperatorConfig } = await import('../../../operator/kube/config.js');
    const plain = OperatorConfig.parse(load(find(render('jobs.queueName=team-a'), 'ConfigMap', 'ta-trainer-agent-config')!.data['config.yaml']));
    expect(plain.jobs.queueName).toBe('team-a');
    expect(plain.jobs.distributed).toEqual({ engine: 'auto', runtimeRef: { name: 'torch-distributed', kind: 'ClusterTrainingRuntime' }, maxGpusPerNode: 8, maxNodes: 4, masterPort: 29500 });
    expect(find(render(), 'ClusterTrainingRuntime')).toBeUndefined();
    const docs = render('trainingRuntime.create=true', 'artifacts.claimName=shared-rwx');
    const runtime = find(docs, 'ClusterTrainingRuntime', 'ta-trainer-agent-torch')!;
    const pod = runtime.spec.template.spec.replicatedJobs[0].template.spec.template.spec;
    expect(pod.volumes[0]).toEqual({ name: 'artifacts', persistentVolumeClaim: { claimName: 'shared-rwx' } });
    expect(pod.containers[0].volumeMounts[0]).toEqual({ name: 'artifacts', mountPath: '/artifacts' });
    expect(runtime.spec.mlPolicy.torch.numProcPerNode).toBe('auto');
    const config = OperatorConfig.parse(load(find(docs, 'ConfigMap', 'ta-trainer-agent-config')!.data['config.yaml']));
    expect(config.jobs.distributed.runtimeRef).toEqual({ name: 'ta-trainer-agent-torch', kind: 'ClusterTrainingRuntime' });
    expect(() => render('jobs.distributed.engine=mpi')).toThrow(/engine/);
  });

  it('lets the operator create TrainJobs and read Kueue Workloads, nothing more', () => {
    const rules = find(render(), 'ClusterRole', 'ta-trainer-agent')!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    expect(rules.find((r) => r.resources.includes('trainjobs'))).toEqual({ apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['get', 'list', 'watch', 'create'] });
    expect(rules.find((r) => r.resources.includes('workloads'))).toEqual({ apiGroups: ['kueue.x-k8s.io'], resources: ['workloads'], verbs: ['get', 'list'] });
  });

  it('rejects values the schema forbids', () => {
    expect(() => render('replicaCount=many')).toThrow(/replicaCount/);
    expect(() => render('artifacts.mountPath=relative')).toThrow(/mountPath/);
  });
});
