/**
 * Smoke test of the e2e control plane: the real API server enforces the TrainingRequest CRD's schema
 * and CEL rules and RBAC, the real scheduler places GPU Jobs on the fake GPU nodes (or refuses),
 * and kwok finishes held pods with the exit code and termination message a test chooses.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  V1CustomResourceDefinition,
  V1Job,
  V1Pod,
  loadYaml,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  HOLD_ANNOTATION,
  finishPod,
  loadKubeConfig,
  repoRoot,
  serviceAccountKubeConfig,
  waitFor,
} from '../cluster/cluster.js';

const realCrd = join(repoRoot, 'crds', 'traineragent.io_trainingrequests.yaml');
const fixtureCrd = join(repoRoot, 'e2e', 'smoke', 'fixtures', 'trainingrequests-minimal.crd.yaml');
/**
 * The generated CRD when another part of the project has produced it, else the minimal fixture;
 * E2E_TRAININGREQUEST_CRD=path picks another file (e.g. the fixture, to check the cluster alone).
 */
const crdFile = process.env['E2E_TRAININGREQUEST_CRD'] ?? (existsSync(realCrd) ? realCrd : fixtureCrd);

const treq = { group: 'traineragent.io', version: 'v1alpha1', plural: 'trainingrequests' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let kc: KubeConfig;
let core: CoreV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
const namespace = `smoke-${randomBytes(3).toString('hex')}`;

/** The API server's answer to a request that must fail: status code and the whole error text. */
async function rejection(request: Promise<unknown>): Promise<{ code: number; text: string }> {
  try {
    await request;
  } catch (err) {
    if (err instanceof ApiException) {
      const body: unknown = err.body;
      return { code: err.code, text: `${err.message} ${typeof body === 'string' ? body : JSON.stringify(body)}` };
    }
    throw err;
  }
  throw new Error('The API server accepted a request it should have rejected');
}

/** Creates the CRD (or replaces one left by an earlier run) and waits until it is served. */
async function applyCrd(file: string): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(file, 'utf8'));
  const name = crd.metadata!.name!;
  try {
    await ext.createCustomResourceDefinition({ body: crd });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const current = await ext.readCustomResourceDefinition({ name });
    crd.metadata!.resourceVersion = current.metadata!.resourceVersion!;
    await ext.replaceCustomResourceDefinition({ name, body: crd });
  }
  await waitFor(`CRD ${name} Established`, async () => {
    const got = await ext.readCustomResourceDefinition({ name });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  });
}

/** A Job of one container that asks for `gpus` nvidia.com/gpu and never retries. */
function gpuJob(name: string, gpus: number, hold: boolean): V1Job {
  return {
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: hold ? { annotations: { [HOLD_ANNOTATION]: 'true' } } : {},
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'train',
              image: 'registry.invalid/trainer:e2e',
              resources: gpus > 0 ? { limits: { 'nvidia.com/gpu': String(gpus) } } : {},
            },
          ],
        },
      },
    },
  };
}

/** The one pod of Job `job`, once `ready` accepts it. */
async function jobPod(job: string, what: string, ready: (pod: V1Pod) => boolean): Promise<V1Pod> {
  return waitFor(`pod of Job ${job} ${what}`, async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job}` });
    return pods.items.find(ready);
  });
}

/** Waits for a Job condition (Complete, Failed) to be True. */
async function jobCondition(job: string, type: string): Promise<V1Job> {
  return waitFor(`Job ${job} ${type}`, async () => {
    const got = await batch.readNamespacedJob({ name: job, namespace });
    return got.status?.conditions?.some((c) => c.type === type && c.status === 'True') ? got : undefined;
  });
}

beforeAll(async () => {
  kc = loadKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // Pods need the namespace's default ServiceAccount, which the controller-manager creates.
  await waitFor('default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace }));
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe(`TrainingRequest CRD (${relative(repoRoot, crdFile)}) on a real API server`, () => {
  beforeAll(() => applyCrd(crdFile));

  const create = (name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({
      ...treq,
      namespace,
      body: { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name }, spec },
    });

  it('rejects a spec without the required requirement', async () => {
    const { code, text } = await rejection(create('no-requirement', { approval: 'auto' }));
    expect(code).toBe(422);
    expect(text).toContain('spec.requirement');
  });

  it('rejects a value outside the schema (approval enum)', async () => {
    const { code, text } = await rejection(create('bad-approval', { requirement: 'a spam filter', approval: 'sometimes' }));
    expect(code).toBe(422);
    expect(text).toContain('spec.approval');
  });

  it('accepts a valid request, then enforces the CEL rule that the requirement is immutable', async () => {
    const name = 'promo-classifier';
    await create(name, { requirement: 'a classifier for benefit information in promotions, 90% accuracy' });

    const patch = (spec: Record<string, unknown>) =>
      custom.patchNamespacedCustomObject({ ...treq, namespace, name, body: { spec } }, mergePatch);
    const { code, text } = await rejection(patch({ requirement: 'something else entirely' }));
    expect(code).toBe(422);
    expect(text).toContain('immutable');

    // Other fields stay editable: the rule guards the requirement only.
    await patch({ messages: ['please also report F1'] });
    const got = (await custom.getNamespacedCustomObject({ ...treq, namespace, name })) as {
      spec: { requirement: string; messages?: string[] };
    };
    expect(got.spec.requirement).toBe('a classifier for benefit information in promotions, 90% accuracy');
    expect(got.spec.messages).toEqual(['please also report F1']);
  });
});

describe('TrainingRequest bounds in the generated CRD (crds/) on a real API server', () => {
  beforeAll(() => applyCrd(realCrd));

  const create = (name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({
      ...treq,
      namespace,
      body: { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name }, spec },
    });

  it.each([
    { name: 'a ratio target above 1 in overrides (accuracy >= 7)', spec: { overrides: { objectives: [{ metric: 'accuracy', op: '>=', value: 7 }] } }, error: 'take a fraction between 0 and 1' },
    { name: 'a billion requests per second in overrides', spec: { overrides: { serving: { qps: 1_000_000_000 } } }, error: 'spec.overrides.serving.qps' },
    { name: 'a terabyte container in overrides', spec: { overrides: { serving: { memoryBytes: 1_000_000_000_000 } } }, error: 'spec.overrides.serving.memoryBytes' },
  ])('rejects $name (bounds from agents/task/bounds.ts)', async ({ spec, error }) => {
    const { code, text } = await rejection(create(`bounds-${randomBytes(3).toString('hex')}`, { requirement: 'a spam filter', ...spec }));
    expect(code).toBe(422);
    expect(text).toContain(error);
  });

  it('accepts targets within the bounds, integer-valued ones included', async () => {
    const objectives = [{ metric: 'bleu', op: '>=', value: 35 }, { metric: 'accuracy', op: '>=', value: 0.9 }];
    await create('bounded', { requirement: 'a translator', overrides: { objectives, serving: { qps: 100 } } });
    const got = (await custom.getNamespacedCustomObject({ ...treq, namespace, name: 'bounded' })) as { spec: { overrides: { objectives: unknown[] } } };
    expect(got.spec.overrides.objectives).toEqual(objectives);
  });

  it('with strict field validation (kubectl\'s default), refuses a misspelt field by its path', async () => {
    const { code, text } = await rejection(custom.createNamespacedCustomObject({
      ...treq, namespace, fieldValidation: 'Strict',
      body: { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name: 'typo' }, spec: { requirement: 'a spam filter', budget: { maxAtempts: 3 } } },
    }));
    expect(code).toBe(400);
    expect(text).toMatch(/strict decoding error: unknown field \\?"spec\.budget\.maxAtempts/);
  });
});

describe('RBAC is enforced', () => {
  it('a ServiceAccount may list ConfigMaps only after a Role grants it', async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'visible' }, data: { a: '1' } } });
    const asReader = (await serviceAccountKubeConfig(namespace, 'reader', kc)).makeApiClient(CoreV1Api);

    const denied = await rejection(asReader.listNamespacedConfigMap({ namespace }));
    expect(denied.code).toBe(403);
    expect(denied.text).toContain(`system:serviceaccount:${namespace}:reader`);

    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const list = await waitFor('Role to take effect', () => asReader.listNamespacedConfigMap({ namespace }));
    expect(list.items.map((c) => c.metadata?.name)).toContain('visible');
    // Still least privilege: the Role grants no writes.
    const write = await rejection(asReader.deleteNamespacedConfigMap({ name: 'visible', namespace }));
    expect(write.code).toBe(403);
  });
});

describe('GPU Jobs on fake nodes', () => {
  it('schedules a 1-GPU Job onto a GPU node, holds it, and reports the exit code and message it is given', async () => {
    await batch.createNamespacedJob({ namespace, body: gpuJob('train-ok', 1, true) });
    const running = await jobPod('train-ok', 'Running', (p) => p.status?.phase === 'Running');

    const node = await core.readNode({ name: running.spec!.nodeName! });
    expect(node.status?.allocatable?.['nvidia.com/gpu']).toBe('8');
    expect(node.metadata?.labels?.['nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');

    // Held: kwok's fast pod-complete stage would otherwise have finished it right away.
    await new Promise((r) => setTimeout(r, 2000));
    const still = await core.readNamespacedPod({ name: running.metadata!.name!, namespace });
    expect(still.status?.phase).toBe('Running');

    const message = '{"accuracy":0.93,"attempt":1}';
    await finishPod(namespace, running.metadata!.name!, 0, message, kc);

    await jobCondition('train-ok', 'Complete');
    const done = await core.readNamespacedPod({ name: running.metadata!.name!, namespace });
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message,
    });
  });

  it('fails the Job when the held pod exits non-zero, keeping the termination message', async () => {
    await batch.createNamespacedJob({ namespace, body: gpuJob('train-oom', 1, true) });
    const running = await jobPod('train-oom', 'Running', (p) => p.status?.phase === 'Running');

    await finishPod(namespace, running.metadata!.name!, 3, 'CUDA out of memory', kc);

    await jobCondition('train-oom', 'Failed');
    const done = await core.readNamespacedPod({ name: running.metadata!.name!, namespace });
    expect(done.status?.phase).toBe('Failed');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: 'CUDA out of memory',
    });
  });

  it('completes a Job without the hold annotation right away (kwok pod-complete)', async () => {
    await batch.createNamespacedJob({ namespace, body: gpuJob('cpu-quick', 0, false) });
    const job = await jobCondition('cpu-quick', 'Complete');
    expect(job.status?.succeeded).toBe(1);
  });

  it('leaves a 16-GPU Job Pending with the scheduler saying why', async () => {
    await batch.createNamespacedJob({ namespace, body: gpuJob('train-too-big', 16, true) });
    const pending = await jobPod('train-too-big', 'marked Unschedulable', (p) =>
      Boolean(p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False')),
    );
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.spec?.nodeName).toBeUndefined();
    const scheduled = pending.status!.conditions!.find((c) => c.type === 'PodScheduled')!;
    expect(scheduled.reason).toBe('Unschedulable');
    expect(scheduled.message).toContain('Insufficient nvidia.com/gpu');

    const event = await waitFor('FailedScheduling event', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${pending.metadata!.name!},reason=FailedScheduling`,
      });
      return events.items[0];
    });
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('Insufficient nvidia.com/gpu');
  });
});
