import { FakeApiServer, json } from '../testing/fake-apiserver.js';
import { ApiError, KubeClient, isApiError, resourceOf, type CallRecord } from './client.js';

describe('KubeClient', () => {
  const server = new FakeApiServer();
  let base = '';
  const calls: CallRecord[] = [];
  let client: KubeClient;
  beforeAll(async () => {
    server.route((req, res, url, body) => {
      if (url.pathname === '/api/v1/namespaces/a/configmaps/x') return json(res, 200, { metadata: { name: 'x' }, auth: req.headers.authorization });
      if (url.pathname === '/api/v1/namespaces/a/configmaps' && req.method === 'POST') return json(res, 409, { kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'configmaps "x" already exists' });
      if (url.pathname === '/apis/apps/v1/namespaces/a/deployments/d') return json(res, 200, { contentType: req.headers['content-type'], query: url.search, body: JSON.parse(body) });
      return false;
    });
    base = await server.start();
    client = new KubeClient({ server: base, insecureSkipTLSVerify: false, token: async () => 'secret-token', source: 'test' }, { timeoutMs: 300, onCall: (c) => calls.push(c) });
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('sends the bearer token and parses JSON', async () => {
    expect(await client.request({ verb: 'get', path: '/api/v1/namespaces/a/configmaps/x' })).toEqual({ metadata: { name: 'x' }, auth: 'Bearer secret-token' });
    expect(calls.at(-1)).toMatchObject({ verb: 'get', resource: 'configmaps', code: 200 });
  });

  it('turns a Status answer into an ApiError with code and reason', async () => {
    const error = await client.request({ verb: 'create', path: '/api/v1/namespaces/a/configmaps', body: {} }).catch((e: unknown) => e);
    expect(isApiError(error, 409)).toBe(true);
    expect((error as ApiError).reason).toBe('AlreadyExists');
    expect((error as ApiError).message).toBe('create /api/v1/namespaces/a/configmaps: 409 AlreadyExists: configmaps "x" already exists');
  });

  it('sends server-side apply as an apply patch with its query', async () => {
    const answer = await client.request<{ contentType: string; query: string; body: unknown }>({ verb: 'apply', path: '/apis/apps/v1/namespaces/a/deployments/d', query: { fieldManager: 'trainer-agent', force: true }, body: { kind: 'Deployment' }, contentType: 'application/apply-patch+yaml' });
    expect(answer).toEqual({ contentType: 'application/apply-patch+yaml', query: '?fieldManager=trainer-agent&force=true', body: { kind: 'Deployment' } });
  });

  it('gives up on a hung call at its deadline, without the token in the error', async () => {
    server.hang = true;
    try {
      const started = Date.now();
      const error = await client.request({ verb: 'get', path: '/api/v1/namespaces/a/configmaps/x' }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe(0);
      expect((error as ApiError).message).toMatch(/no answer within 300 ms/);
      expect((error as ApiError).message).not.toContain('secret-token');
      expect(calls.at(-1)).toMatchObject({ verb: 'get', code: 0 });
    } finally {
      server.hang = false;
    }
  });
});

describe('resourceOf', () => {
  it.each([
    { path: '/api/v1/namespaces/a/pods', resource: 'pods' },
    { path: '/api/v1/pods', resource: 'pods' },
    { path: '/apis/batch/v1/namespaces/a/jobs/j', resource: 'jobs' },
    { path: '/apis/traineragent.io/v1alpha1/namespaces/a/trainingrequests/r/status', resource: 'trainingrequests/status' },
    { path: '/apis/coordination.k8s.io/v1/namespaces/s/leases/l?x=1', resource: 'leases' },
    { path: '/api/v1/namespaces/a', resource: 'namespaces' },
  ])('$path → $resource', ({ path, resource }) => expect(resourceOf(path)).toBe(resource));
});
