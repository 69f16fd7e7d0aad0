import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';

/** Where a pod finds its ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How this process reaches and authenticates to the API server. */
export interface Connection {
  /** `https://host:port` (or http:// for tests), without a trailing slash. */
  server: string;
  /** PEM CA bundle; undefined uses the system's roots. */
  ca?: Buffer;
  /** PEM client certificate and key (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTLSVerify: boolean;
  /** TLS server name when it differs from the host. */
  tlsServerName?: string;
  /** The bearer token to send now, if any (re-read from files and exec plugins as they rotate). */
  token(): Promise<string | undefined>;
  /** The context's default namespace. */
  namespace?: string;
  /** Where this came from, for the start-up log line (never a secret). */
  source: string;
}

const NamedCluster = z.object({
  name: z.string(),
  cluster: z.object({
    server: z.string(),
    'certificate-authority': z.string().optional(),
    'certificate-authority-data': z.string().optional(),
    'insecure-skip-tls-verify': z.boolean().optional(),
    'tls-server-name': z.string().optional(),
  }),
});
const ExecConfig = z.object({
  command: z.string(),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
  apiVersion: z.string().optional(),
});
const NamedUser = z.object({
  name: z.string(),
  user: z
    .object({
      token: z.string().optional(),
      tokenFile: z.string().optional(),
      'client-certificate': z.string().optional(),
      'client-certificate-data': z.string().optional(),
      'client-key': z.string().optional(),
      'client-key-data': z.string().optional(),
      exec: ExecConfig.optional(),
      'auth-provider': z.unknown().optional(),
    })
    .nullish(),
});
const NamedContext = z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional(), namespace: z.string().optional() }) });
/** The parts of a kubeconfig file this operator reads. */
export const KubeConfigFile = z.object({
  clusters: z.array(NamedCluster).nullish(),
  users: z.array(NamedUser).nullish(),
  contexts: z.array(NamedContext).nullish(),
  'current-context': z.string().optional(),
});
type KubeConfigFile = z.infer<typeof KubeConfigFile>;

/** Options of {@link loadConnection}. */
export interface LoadOptions {
  /** An explicit kubeconfig file (`--kubeconfig`). */
  kubeconfig?: string;
  /** A context other than the current one. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** The ServiceAccount directory (tests). */
  serviceAccountDir?: string;
  home?: string;
}

/**
 * The connection kubectl would use, in client-go's order: `--kubeconfig`, then `$KUBECONFIG` (the
 * first file that exists), then `~/.kube/config`, then the pod's ServiceAccount (in-cluster). Tokens
 * from files are re-read every minute, as client-go does, because bound ServiceAccount tokens rotate.
 */
export function loadConnection(options: LoadOptions = {}): Connection {
  const env = options.env ?? process.env;
  const candidates = options.kubeconfig ? [options.kubeconfig] : [...(env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean), join(options.home ?? homedir(), '.kube', 'config')];
  for (const file of candidates) {
    if (options.kubeconfig || existsSync(file)) return fromKubeConfigFile(file, options.context);
  }
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (host && existsSync(join(dir, 'token'))) return inCluster(host, env['KUBERNETES_SERVICE_PORT'] ?? '443', dir);
  throw new Error('Found no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and no in-cluster ServiceAccount');
}

/** The in-cluster connection: the `kubernetes` Service, the pod's CA and its rotating token. */
export function inCluster(host: string, port: string, dir = SERVICE_ACCOUNT_DIR): Connection {
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    insecureSkipTLSVerify: false,
    token: fileToken(join(dir, 'token')),
    ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}),
    source: 'in-cluster ServiceAccount',
  };
}

/** The connection of a kubeconfig file's current (or named) context. */
export function fromKubeConfigFile(file: string, contextName?: string): Connection {
  const text = readFileSync(file, 'utf8');
  const parsed = KubeConfigFile.parse(loadYaml(text) ?? {});
  return fromKubeConfig(parsed, dirname(file), contextName, `kubeconfig ${file}`);
}

/** The connection described by a parsed kubeconfig; relative paths are resolved against `baseDir`. */
export function fromKubeConfig(config: KubeConfigFile, baseDir: string, contextName: string | undefined, source: string): Connection {
  const name = contextName ?? config['current-context'];
  const context = config.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new Error(`${source}: no context ${name ?? '(current-context is not set)'}`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`${source}: context ${name} names cluster ${context.cluster}, which is not defined`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const path = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const data = (inline: string | undefined, file: string | undefined) => (inline ? Buffer.from(inline, 'base64') : file ? readFileSync(path(file)) : undefined);
  if (user['auth-provider']) throw new Error(`${source}: auth-provider plugins are not supported; use an exec credential plugin or a token`);
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  const exec = user.exec ? execPlugin(user.exec, cluster.server) : undefined;
  const token = user.token ? async () => user.token : user.tokenFile ? fileToken(path(user.tokenFile)) : exec ? exec : async () => undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] ?? false,
    ...(cluster['tls-server-name'] ? { tlsServerName: cluster['tls-server-name'] } : {}),
    token,
    ...(context.namespace ? { namespace: context.namespace } : {}),
    source,
  };
}

/** A token read from a file, re-read when the file changed or a minute passed. */
export function fileToken(file: string, maxAgeMs = 60_000, now: () => number = Date.now): () => Promise<string | undefined> {
  let cached: { token: string; at: number; mtimeMs: number } | undefined;
  return async () => {
    const mtimeMs = statSync(file).mtimeMs;
    if (!cached || now() - cached.at > maxAgeMs || cached.mtimeMs !== mtimeMs) cached = { token: readFileSync(file, 'utf8').trim(), at: now(), mtimeMs };
    return cached.token;
  };
}

const ExecCredential = z.object({
  status: z.object({ token: z.string().optional(), expirationTimestamp: z.string().optional() }).optional(),
});

/**
 * A client-go exec credential plugin (EKS, GKE, OIDC helpers) that issues tokens: run it, cache the
 * token until it expires. Plugins that issue client certificates instead are not supported.
 */
function execPlugin(exec: z.infer<typeof ExecConfig>, server: string): () => Promise<string | undefined> {
  let cached: { token: string; until: number } | undefined;
  let running: Promise<string> | undefined;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
      const info = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false, cluster: { server } } });
      const env = { ...process.env, KUBERNETES_EXEC_INFO: info, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) };
      execFile(exec.command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, stdout) => {
        if (error) return reject(new Error(`exec credential plugin ${exec.command} failed: ${error.message}`));
        let status: z.infer<typeof ExecCredential>['status'];
        try {
          status = ExecCredential.parse(JSON.parse(stdout)).status;
        } catch (parseError) {
          return reject(new Error(`exec credential plugin ${exec.command} printed no ExecCredential: ${(parseError as Error).message}`));
        }
        if (!status?.token) return reject(new Error(`exec credential plugin ${exec.command} issued no token (client certificates from plugins are not supported)`));
        const until = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) - 10_000 : Number.POSITIVE_INFINITY;
        cached = { token: status.token, until };
        resolve(status.token);
      });
    });
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    running ??= run().finally(() => (running = undefined));
    return running;
  };
}
