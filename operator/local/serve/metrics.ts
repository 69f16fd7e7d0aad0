import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The local server's Prometheus metrics, on a registry of its own (several servers can share a process). */
export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'model' | 'route' | 'code'>;
  latency: Histogram<'model' | 'route'>;
  batchSize: Histogram<'model'>;
  rows: Counter<'model'>;
  queueDepth: Gauge<'model'>;
  bytesInFlight: Gauge<'model'>;
}

/**
 * Create the metrics; `defaults` adds process metrics (CPU, RSS, event loop lag). A request whose
 * client went away is counted with code 499, never as a 5xx.
 */
export function createMetrics(defaults = true): ServeMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'trainer_agent_serve_' });
  return {
    registry,
    requests: new Counter({ name: 'trainer_agent_serve_requests_total', help: 'HTTP requests by route and status code.',
      labelNames: ['model', 'route', 'code'], registers: [registry] }),
    latency: new Histogram({ name: 'trainer_agent_serve_request_duration_seconds', help: 'HTTP request latency.',
      labelNames: ['model', 'route'], registers: [registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
    batchSize: new Histogram({ name: 'trainer_agent_serve_batch_size', help: 'Rows per model run (dynamic batching).',
      labelNames: ['model'], registers: [registry], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] }),
    rows: new Counter({ name: 'trainer_agent_serve_inference_rows_total', help: 'Rows predicted.',
      labelNames: ['model'], registers: [registry] }),
    queueDepth: new Gauge({ name: 'trainer_agent_serve_queue_depth', help: 'Rows waiting for a batch.',
      labelNames: ['model'], registers: [registry] }),
    bytesInFlight: new Gauge({ name: 'trainer_agent_serve_request_bytes_in_flight', help: 'Request bytes held by requests not yet answered.',
      labelNames: ['model'], registers: [registry] }),
  };
}
