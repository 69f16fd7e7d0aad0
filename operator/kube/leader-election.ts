import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { collectionPath } from './client.js';
import { isApiError, type KubeClient } from './rest/client.js';

/** The Lease calls the elector makes (a fake in tests). Each honours `signal`. */
export interface LeaseApi {
  get(namespace: string, name: string, signal: AbortSignal): Promise<V1Lease | undefined>;
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

/** Lease API on the REST client. */
export function leaseApi(client: KubeClient): LeaseApi {
  const path = (namespace: string) => collectionPath('coordination.k8s.io/v1', 'Lease', namespace);
  return {
    async get(namespace, name, signal) {
      try {
        return await client.request<V1Lease>({ verb: 'get', path: `${path(namespace)}/${encodeURIComponent(name)}`, signal });
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    },
    create: (lease, signal) => client.request<V1Lease>({ verb: 'create', path: path(lease.metadata!.namespace!), body: lease, signal }),
    replace: (lease, signal) => client.request<V1Lease>({ verb: 'update', path: `${path(lease.metadata!.namespace!)}/${encodeURIComponent(lease.metadata!.name!)}`, body: lease, signal }),
  };
}

/** A Lease's MicroTime: RFC 3339 with exactly six fractional digits, as the API server parses it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Options of the elector; durations as in client-go's defaults for controllers. */
export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Called once when renewal failed past the deadline; the process should exit. */
  onStoppedLeading: () => void;
  onStatus?: (leader: boolean) => void;
  now?: () => number;
  random?: () => number;
}

/**
 * Leader election on a coordination.k8s.io Lease, like client-go's: acquire when the lease is free
 * or expired (by our own clock since we last saw it change), renew every retry period, and step
 * down — the caller stops writing and exits — when no renewal succeeded within the renew deadline.
 *
 * The deadline holds whatever the API server does: every call is aborted when the time left runs
 * out, and a timer armed at each successful renewal steps down on its own even if a call never
 * returns. The renew deadline is shorter than the lease duration, so this replica has stopped
 * before any other can take the lease over.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private observed: { record: string; at: number } | undefined;
  /** When the last successful renewal was sent (our clock, before the call). */
  private lastRenew = 0;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    if (this.renewMs >= this.leaseMs) throw new Error(`the renew deadline (${this.renewMs} ms) must be shorter than the lease duration (${this.leaseMs} ms)`);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Start trying; returns at once, callbacks tell what happens. */
  start(): void {
    this.options.onStatus?.(false);
    void this.tick();
  }

  /** Stop, and release the lease when leading so a successor need not wait for it to expire. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadlineTimer);
    this.inFlight?.abort();
    if (this.leading && release) {
      try {
        const signal = AbortSignal.timeout(Math.max(1000, this.renewMs - (this.now() - this.lastRenew)));
        const lease = await this.options.api.get(this.options.namespace, this.options.name, signal);
        if (lease?.spec?.holderIdentity === this.options.identity) {
          await this.options.api.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) as never } }, signal);
          this.options.log.info({ lease: this.options.name }, 'Released leader lease');
        }
      } catch (error) {
        this.options.log.warn({ err: (error as Error).message }, 'Failed to release leader lease');
      }
    }
    this.leading = false;
    this.options.onStatus?.(false);
  }

  private schedule(): void {
    if (this.stopped) return;
    // client-go's JitterUntil: the retry period stretched by up to 20%, so candidates spread out.
    this.timer = setTimeout(() => void this.tick(), Math.round(this.retryMs * (1 + 0.2 * this.random())));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const started = this.now();
    // A leader's attempt may take only the time left before its deadline; a candidate's, one deadline.
    const budget = this.leading ? this.lastRenew + this.renewMs - started : this.renewMs;
    const abort = new AbortController();
    this.inFlight = abort;
    const timeout = setTimeout(() => abort.abort(), Math.max(0, budget));
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew(started, abort.signal);
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, 'Failed to acquire or renew lease');
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
    if (this.stopped) return;
    if (ok && (!this.leading || started <= this.lastRenew + this.renewMs)) {
      this.lastRenew = started;
      this.armDeadline();
      if (!this.leading) {
        this.leading = true;
        this.options.onStatus?.(true);
        this.options.log.info({ lease: this.options.name, identity: this.options.identity }, 'Acquired leader lease');
        this.options.onStartedLeading();
      }
    } else if (this.leading && this.now() >= this.lastRenew + this.renewMs) {
      this.stepDown();
      return;
    }
    this.schedule();
  }

  /** Step down at the deadline even when a call hangs and the tick never comes back. */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const left = this.lastRenew + this.renewMs - this.now();
    this.deadlineTimer = setTimeout(() => {
      if (this.leading && !this.stopped && this.now() >= this.lastRenew + this.renewMs) this.stepDown();
    }, Math.max(0, left));
  }

  private stepDown(): void {
    this.leading = false;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadlineTimer);
    this.inFlight?.abort();
    this.options.onStatus?.(false);
    this.options.log.error({ lease: this.options.name, renewDeadlineMs: this.renewMs }, 'Failed to renew leader lease within the deadline; stepped down');
    this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(now: number, signal: AbortSignal): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    const spec = (transitions: number, acquire: boolean, current?: V1Lease) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: (acquire ? microTime(now) : (current?.spec?.acquireTime ?? microTime(now))) as never,
      renewTime: microTime(now) as never,
      leaseTransitions: transitions,
    });
    const lease = await api.get(namespace, name, signal);
    if (!lease) {
      try {
        await api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(0, true) }, signal);
        return true;
      } catch (error) {
        if (isApiError(error, 409)) return false;
        throw error;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = JSON.stringify([holder, lease.spec?.renewTime, lease.spec?.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: this.now() };
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const held = holder !== '' && holder !== identity && this.now() < this.observed.at + durationMs;
    if (held) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await api.replace({ ...lease, spec: spec(transitions, holder !== identity, lease) }, signal);
      return true;
    } catch (error) {
      if (isApiError(error, 409)) return false;
      throw error;
    }
  }
}
