/**
 * Test-side handle on the local e2e control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok) that `e2e/cluster/up.sh` starts and `e2e/cluster/down.sh` stops.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { load as loadYaml } from 'js-yaml';
import { KubeConfigFile, fromKubeConfig, type Connection } from '../../operator/kube/rest/kubeconfig.js';

const run = promisify(execFile);

/** Directory of the cluster scripts (`e2e/cluster`). */
export const clusterDir = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const repoRoot = resolve(clusterDir, '..', '..');
/** Runtime state of the running cluster (git-ignored): kubeconfig, pids, env, logs. */
export const stateDir = join(repoRoot, 'e2e', '.cluster');
/** Admin kubeconfig written by up.sh (user in group system:masters). */
export const kubeconfigPath = join(stateDir, 'kubeconfig');

/** Annotation that keeps a pod Running until {@link finishPod} says how it ended (kwok/pod-hold.yaml). */
export const HOLD_ANNOTATION = 'traineragent.io/hold';
/** Annotation read by the kwok pod-finish stage: the container's exit code. */
export const EXIT_CODE_ANNOTATION = 'traineragent.io/exit-code';
/** Annotation read by the kwok pod-finish stage: the container's termination message. */
export const TERMINATION_MESSAGE_ANNOTATION = 'traineragent.io/termination-message';

/** Runs one of the cluster scripts; its log lines go to this process's stderr. */
async function runScript(script: string, args: string[] = [], timeoutMs = 60 * 60 * 1000): Promise<string> {
  try {
    const { stdout, stderr } = await run('bash', [join(clusterDir, script), ...args], {
      cwd: repoRoot,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (stderr) process.stderr.write(stderr);
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${script} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** Builds the binaries if needed (a cold build takes many minutes) and starts the cluster. */
export async function startCluster(): Promise<void> {
  await runScript('up.sh');
}

/** Stops exactly the processes up.sh started; logs stay in `e2e/.cluster/logs`. */
export async function stopCluster(): Promise<void> {
  await runScript('down.sh', [], 60_000);
}

/** True when up.sh has written a kubeconfig and recorded running processes. */
export function isClusterUp(): boolean {
  return existsSync(kubeconfigPath) && existsSync(join(stateDir, 'pids'));
}

/** Loads the admin kubeconfig of the running cluster (or another kubeconfig file). */
export function loadKubeConfig(path: string = kubeconfigPath): KubeConfig {
  if (!existsSync(path)) throw new Error(`No kubeconfig at ${path}: is the e2e cluster up (npm run cluster:up)?`);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * A kubeconfig that acts as ServiceAccount `namespace/name`, with a bound token from the TokenRequest
 * API (what a pod gets mounted): use it to check RBAC rules against the real authorizer.
 */
export async function serviceAccountKubeConfig(
  namespace: string,
  name: string,
  admin: KubeConfig = loadKubeConfig(),
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('Admin kubeconfig has no current cluster');
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user, namespace }],
    currentContext: user,
  });
  return kc;
}

/**
 * Ends a held pod's containers the way a kubelet reports a finished container: the kwok stage in
 * `kwok/pod-hold.yaml` writes `state.terminated` with this exit code and message, and phase
 * Succeeded (exit 0) or Failed. The pod must carry `traineragent.io/hold: "true"`.
 */
export async function finishPod(
  namespace: string,
  name: string,
  exitCode: number,
  message: string,
  kc: KubeConfig = loadKubeConfig(),
): Promise<void> {
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) {
    throw new RangeError(`exitCode must be an integer in 0..255, got ${exitCode}`);
  }
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNamespacedPod(
    {
      name,
      namespace,
      body: {
        metadata: {
          annotations: { [EXIT_CODE_ANNOTATION]: String(exitCode), [TERMINATION_MESSAGE_ANNOTATION]: message },
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with the
 * last error or value seen (so a failing e2e test says what it was waiting for).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Literal values up.sh wrote to `e2e/.cluster/env` (KUBECONFIG, E2E_API_SERVER, E2E_TOOLS_BIN, ...). */
export function clusterEnv(): Record<string, string> {
  const file = join(stateDir, 'env');
  if (!existsSync(file)) throw new Error(`No ${file}: is the e2e cluster up (npm run cluster:up)?`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export )?([A-Z0-9_]+)="?([^"]*)"?$/.exec(line);
    // Skip shell expressions such as PATH="...:$PATH": only literal values mean the same here.
    if (m?.[1] && m[2] !== undefined && !m[2].includes('$')) env[m[1]] = m[2];
  }
  return env;
}

/** Runs the cluster's kubectl (1.35, from the npm layer) with the admin kubeconfig; returns stdout. */
export async function kubectl(args: string[], kubeconfig: string = kubeconfigPath): Promise<string> {
  const bin = clusterEnv()['E2E_TOOLS_BIN'];
  if (!bin) throw new Error('e2e/.cluster/env has no E2E_TOOLS_BIN');
  const { stdout } = await run(join(bin, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The operator's connection for a client-node KubeConfig (an admin or ServiceAccount config built in a test). */
export function connectionOf(kc: KubeConfig): Connection {
  return fromKubeConfig(KubeConfigFile.parse(loadYaml(kc.exportConfig())), repoRoot, undefined, 'e2e kubeconfig');
}
