import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { fileToken, loadConnection } from './kubeconfig.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ta-kc-'));
const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443/' }) =>
  dump({ apiVersion: 'v1', kind: 'Config', 'current-context': 'ctx', contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'team-a' } }], clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user }] });

describe('loadConnection', () => {
  it('reads a token user and an inline CA, as kubectl does', async () => {
    const d = dir();
    writeFileSync(join(d, 'config'), kubeconfig({ token: 'abc' }, { server: 'https://10.0.0.1:6443/', 'certificate-authority-data': Buffer.from('CA PEM').toString('base64') }));
    const c = loadConnection({ kubeconfig: join(d, 'config') });
    expect(c.server).toBe('https://10.0.0.1:6443');
    expect(c.ca!.toString()).toBe('CA PEM');
    expect(await c.token()).toBe('abc');
    expect(c.namespace).toBe('team-a');
  });

  it('resolves certificate files relative to the kubeconfig', () => {
    const d = dir();
    mkdirSync(join(d, 'pki'));
    writeFileSync(join(d, 'pki/ca.crt'), 'CA');
    writeFileSync(join(d, 'pki/client.crt'), 'CERT');
    writeFileSync(join(d, 'pki/client.key'), 'KEY');
    writeFileSync(join(d, 'config'), kubeconfig({ 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' }, { server: 'https://h:1', 'certificate-authority': 'pki/ca.crt' }));
    const c = loadConnection({ kubeconfig: join(d, 'config') });
    expect([c.ca!.toString(), c.cert!.toString(), c.key!.toString()]).toEqual(['CA', 'CERT', 'KEY']);
  });

  it('takes the first existing file of $KUBECONFIG before ~/.kube/config', async () => {
    const d = dir();
    writeFileSync(join(d, 'b'), kubeconfig({ token: 'from-b' }));
    const c = loadConnection({ env: { KUBECONFIG: `${join(d, 'missing')}:${join(d, 'b')}` }, home: d });
    expect(await c.token()).toBe('from-b');
  });

  it('falls back to the pod ServiceAccount in a cluster', async () => {
    const sa = dir();
    writeFileSync(join(sa, 'token'), 'sa-token\n');
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(join(sa, 'namespace'), 'trainer-agent-system');
    const c = loadConnection({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, home: dir(), serviceAccountDir: sa });
    expect(c.server).toBe('https://[fd00::1]:443');
    expect(await c.token()).toBe('sa-token');
    expect(c.namespace).toBe('trainer-agent-system');
  });

  it('runs an exec credential plugin for its token and caches it', async () => {
    const d = dir();
    const plugin = join(d, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho run >> ${join(d, 'runs')}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token"}}'\n`);
    chmodSync(plugin, 0o755);
    writeFileSync(join(d, 'config'), kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, args: [] } }));
    const c = loadConnection({ kubeconfig: join(d, 'config') });
    expect(await c.token()).toBe('exec-token');
    expect(await c.token()).toBe('exec-token');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(d, 'runs'), 'utf8')).toBe('run\n');
  });

  it.each([
    { name: 'an unknown context', config: dump({ 'current-context': 'nope', contexts: [], clusters: [], users: [] }), error: /no context nope/ },
    { name: 'a legacy auth-provider', config: kubeconfig({ 'auth-provider': { name: 'gcp' } }), error: /auth-provider plugins are not supported/ },
  ])('fails clearly on $name', ({ config, error }) => {
    const d = dir();
    writeFileSync(join(d, 'config'), config);
    expect(() => loadConnection({ kubeconfig: join(d, 'config') })).toThrow(error);
  });
});

describe('fileToken', () => {
  it('re-reads a rotated ServiceAccount token', async () => {
    const file = join(dir(), 'token');
    writeFileSync(file, 'one');
    let now = 0;
    const token = fileToken(file, 60_000, () => now);
    expect(await token()).toBe('one');
    writeFileSync(file, 'two');
    utimesSync(file, new Date(0), new Date(0));
    now = 61_000;
    expect(await token()).toBe('two');
  });
});
