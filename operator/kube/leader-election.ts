import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { isApiError } from './client.js';

/** The Lease calls the elector makes (a fake in tests). */
export interface LeaseApi {
  get(namespace: string, name: string): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  replace(lease: V1Lease): Promise<V1Lease>;
}

/** Lease API on client-node. */
export function leaseApi(kc: KubeConfig): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async get(namespace, name) {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    },
    create: (lease) => api.createNamespacedLease({ namespace: lease.metadata!.namespace!, body: lease }),
    replace: (lease) => api.replaceNamespacedLease({ namespace: lease.metadata!.namespace!, name: lease.metadata!.name!, body: lease }),
  };
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
}

/**
 * Leader election on a coordination.k8s.io Lease, like client-go's: acquire when the lease is free
 * or expired (by our own clock since we last saw it change), renew every retry period, and give up
 * leadership — the caller exits — when no renewal succeeded within the renew deadline.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? Date.now;
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
    if (this.leading && release) {
      try {
        const lease = await this.options.api.get(this.options.namespace, this.options.name);
        if (lease?.spec?.holderIdentity === this.options.identity) {
          await this.options.api.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) } });
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
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, 'Failed to acquire or renew lease');
    }
    if (this.stopped) return;
    if (ok) {
      this.lastRenew = this.now();
      if (!this.leading) {
        this.leading = true;
        this.options.onStatus?.(true);
        this.options.log.info({ lease: this.options.name, identity: this.options.identity }, 'Acquired leader lease');
        this.options.onStartedLeading();
      }
    } else if (this.leading && this.now() - this.lastRenew > this.renewMs) {
      this.leading = false;
      this.stopped = true;
      this.options.onStatus?.(false);
      this.options.log.error({ lease: this.options.name }, 'Failed to renew leader lease within the deadline; stopping');
      this.options.onStoppedLeading();
      return;
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    const now = this.now();
    const spec = (transitions: number, acquire: boolean, current?: V1Lease) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: acquire ? new V1MicroTime(now) : (current?.spec?.acquireTime ?? new V1MicroTime(now)),
      renewTime: new V1MicroTime(now),
      leaseTransitions: transitions,
    });
    const lease = await api.get(namespace, name);
    if (!lease) {
      try {
        await api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(0, true) });
        return true;
      } catch (error) {
        if (isApiError(error, 409)) return false;
        throw error;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = JSON.stringify([holder, lease.spec?.renewTime, lease.spec?.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const held = holder !== '' && holder !== identity && now < this.observed.at + durationMs;
    if (held) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await api.replace({ ...lease, spec: spec(transitions, holder !== identity, lease) });
      return true;
    } catch (error) {
      if (isApiError(error, 409)) return false;
      throw error;
    }
  }
}
