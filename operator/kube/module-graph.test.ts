import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe("the operator's module graph", () => {
  it('loads neither @kubernetes/client-node nor openai (≈ 85 MB and ≈ 25 MB of memory on import)', () => {
    // A resolve hook that refuses those packages, then the operator command as bin/ loads it.
    const hook = `data:text/javascript,${encodeURIComponent("export async function resolve(s, c, next) { if (s.startsWith('@kubernetes/client-node') || s === 'openai' || s.startsWith('openai/')) throw new Error('runtime import of ' + s + ' from ' + c.parentURL); return next(s, c); }")}`;
    const refuse = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`)}`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', refuse, '--input-type=module', '-e', "await import('./operator/cli/operator.ts'); await import('./operator/kube/backend.ts'); process.stdout.write('loaded')"], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(out).toBe('loaded');
  });
});
