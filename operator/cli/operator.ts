import { parseArgs } from 'node:util';
import { startKubeOperator } from '../kube/backend.js';
import { loadOperatorConfig } from '../kube/config.js';
import { loadConnection } from '../kube/rest/kubeconfig.js';
import { createLogger } from '../observability/logger.js';
import { OperatorMetrics } from '../observability/metrics.js';
import { reconcile } from '../pipeline/reconcile.js';

/** Options of `trainer-agent operator`. */
export interface OperatorCommandOptions {
  /** Operator config file (YAML/JSON; the chart mounts it). Env vars override images. */
  config?: string;
  /** Kubeconfig file; default: in-cluster, then $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  /** Port of /healthz, /readyz and /metrics (default 8080; 0 picks a free one). */
  probePort?: number;
  /** Address to bind them (default 0.0.0.0). */
  probeHost?: string;
  /** Override config.leaderElection.enabled. */
  leaderElect?: boolean;
  /** Lease identity (default: hostname_pid; the chart passes the pod name). */
  identity?: string;
  /** Override config.watchNamespace. */
  watchNamespace?: string;
  logLevel?: string;
  /** Called with the probe port once listening (tests, e2e). */
  onStarted?: (info: { probePort: number }) => void;
  /** Resolve to stop (tests); default: SIGTERM/SIGINT. */
  until?: Promise<void>;
}

/**
 * `trainer-agent operator`: run the Kubernetes backend until SIGTERM (drains in-flight reconciles,
 * releases the lease) — exit 0 — or until leadership is lost — exit 1.
 */
export async function operatorCommand(options: OperatorCommandOptions = {}): Promise<number> {
  const log = createLogger({ ...(options.logLevel ? { level: options.logLevel } : {}) });
  const extra: Record<string, unknown> = {};
  if (options.leaderElect !== undefined) extra['leaderElection'] = { enabled: options.leaderElect };
  if (options.watchNamespace !== undefined) extra['watchNamespace'] = options.watchNamespace;
  const config = loadOperatorConfig(options.config, process.env, extra);
  const connection = loadConnection(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {});
  log.info({ server: connection.server, credentials: connection.source }, 'Loaded cluster connection');
  const metrics = new OperatorMetrics({ defaultMetrics: true });

  let lost = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const operator = await startKubeOperator({
    connection,
    config,
    log,
    metrics,
    reconcile,
    ...(options.identity ?? process.env['POD_NAME'] ? { identity: (options.identity ?? process.env['POD_NAME'])! } : {}),
    probePort: options.probePort ?? 8080,
    probeHost: options.probeHost ?? '0.0.0.0',
    onLostLeadership: () => {
      lost = true;
      wake();
    },
  });
  log.info({ probePort: operator.probePort, leaderElection: config.leaderElection.enabled }, 'Started operator');
  options.onStarted?.({ probePort: operator.probePort });
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'Received signal; shutting down');
    wake();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await Promise.race([stopped, ...(options.until ? [options.until] : [])]);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // Having lost the lease, another replica may lead already: stop at once, without draining.
  await operator.stop({ drain: !lost });
  // Whatever may still hold the event loop (a call stuck on a dead connection), a replica that
  // lost the lease must be gone: its Deployment restarts it as a candidate.
  if (lost) setTimeout(() => process.exit(1), 5000).unref();
  return lost ? 1 : 0;
}

/** `trainer-agent operator [flags]` from raw arguments (for main.ts). */
export async function operatorCommandFromArgs(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      'probe-port': { type: 'string' },
      'probe-host': { type: 'string' },
      'leader-elect': { type: 'string' },
      identity: { type: 'string' },
      'watch-namespace': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  return operatorCommand({
    ...(values.config ? { config: values.config } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values['probe-port'] ? { probePort: Number(values['probe-port']) } : {}),
    ...(values['probe-host'] ? { probeHost: values['probe-host'] } : {}),
    ...(values['leader-elect'] ? { leaderElect: values['leader-elect'] !== 'false' } : {}),
    ...(values.identity ? { identity: values.identity } : {}),
    ...(values['watch-namespace'] !== undefined ? { watchNamespace: values['watch-namespace'] } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
  });
}
