import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallRecord } from '../kube/rest/client.js';
import type { QueueHooks } from '../kube/work-queue.js';

/** Name of the one controller this operator runs (the `controller` label). */
export const CONTROLLER = 'trainingrequest';

/**
 * The operator's Prometheus metrics, named like controller-runtime's so existing dashboards work,
 * plus `trainingrequest_*` domain metrics.
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly workqueueQueueDuration: Histogram<'name'>;
  readonly workqueueWorkDuration: Histogram<'name'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly requestsByPhase: Gauge<'namespace' | 'phase'>;
  readonly jobsCreated: Counter<'kind'>;
  readonly informerRestarts: Counter<'resource'>;
  readonly restClientRequests: Counter<'code' | 'verb' | 'resource'>;
  readonly restClientDuration: Histogram<'verb'>;
  readonly informerObjects: Gauge<'resource'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const durations = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: durations, registers });
    this.workqueueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers });
    this.workqueueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers });
    this.workqueueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers });
    this.workqueueQueueDuration = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name'], buckets: durations, registers });
    this.workqueueWorkDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['name'], buckets: durations, registers });
    this.leaderStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master', labelNames: ['name'], registers });
    this.requestsByPhase = new Gauge({ name: 'trainingrequest_phase', help: 'TrainingRequests by namespace and phase (1 for the current phase)', labelNames: ['namespace', 'phase'], registers });
    this.jobsCreated = new Counter({ name: 'trainingrequest_jobs_created_total', help: 'Jobs created for TrainingRequests, by kind', labelNames: ['kind'], registers });
    this.informerRestarts = new Counter({ name: 'trainingrequest_informer_restarts_total', help: 'Informer restarts after errors or silence, by resource', labelNames: ['resource'], registers });
    // client-go's names; `verb` and `resource` instead of `method` and `host` (one API server).
    this.restClientRequests = new Counter({ name: 'rest_client_requests_total', help: 'Number of HTTP requests to the API server, by status code, verb and resource', labelNames: ['code', 'verb', 'resource'], registers });
    this.restClientDuration = new Histogram({ name: 'rest_client_request_duration_seconds', help: 'Request latency in seconds, by verb (watches: how long the stream lasted)', labelNames: ['verb'], buckets: durations, registers });
    this.informerObjects = new Gauge({ name: 'trainingrequest_informer_objects', help: 'Objects in the informer caches, by resource', labelNames: ['resource'], registers });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Record one API call. */
  apiCall(call: CallRecord): void {
    this.restClientRequests.inc({ code: String(call.code), verb: call.verb, resource: call.resource });
    this.restClientDuration.observe({ verb: call.verb }, call.seconds);
  }

  /** Hooks for a work queue named `name`. */
  queueHooks(name = CONTROLLER): QueueHooks {
    return {
      depth: (d) => this.workqueueDepth.set({ name }, d),
      added: () => this.workqueueAdds.inc({ name }),
      retried: () => this.workqueueRetries.inc({ name }),
      queued: (s) => this.workqueueQueueDuration.observe({ name }, s),
      worked: (s) => this.workqueueWorkDuration.observe({ name }, s),
    };
  }

  /** Record one reconcile's outcome (`success`, `error`, `requeue`, `requeue_after`). */
  reconciled(result: 'success' | 'error' | 'requeue' | 'requeue_after', seconds: number): void {
    this.reconcileTotal.inc({ controller: CONTROLLER, result });
    if (result === 'error') this.reconcileErrors.inc({ controller: CONTROLLER });
    this.reconcileTime.observe({ controller: CONTROLLER }, seconds);
  }

  /** Remember the phase of one request (per namespace counts are summed by Prometheus queries). */
  private readonly phases = new Map<string, { namespace: string; phase: string }>();
  phase(key: string, namespace: string, phase: string | undefined): void {
    const before = this.phases.get(key);
    if (before) this.requestsByPhase.dec(before);
    if (phase) {
      const now = { namespace, phase };
      this.phases.set(key, now);
      this.requestsByPhase.inc(now);
    } else {
      this.phases.delete(key);
    }
  }
}
