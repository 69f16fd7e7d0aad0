import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { DataSource, TrainingRequest } from '../api/training-request.js';
import type { Logger } from '../observability/logger.js';
import type { ObservedSource } from '../pipeline/types.js';
import type { ArtifactStore } from './artifacts.js';
import type { DataMount } from './builders/job.js';
import type { OperatorConfig } from './config.js';
import { StagingThread, type StagingCalls } from './staging-thread.js';

/** What resolving sources needs from the cluster. */
export interface SourceAccess {
  readConfigMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
}

/** Resolved sources and the extra PVCs the data job must mount. */
export interface ResolvedSources {
  sources: ObservedSource[];
  mounts: DataMount[];
}

/** What a data Job recorded of one staged source (its `traineragent.io/sources` annotation). */
export const SourceRecord = z.object({ key: z.string(), location: z.string(), digest: z.string(), fingerprint: z.string().optional() });
export type SourceRecord = z.infer<typeof SourceRecord>;

/** Source records from an annotation value; nothing when it is missing or not ours. */
export function parseSourceRecords(value: string | undefined): SourceRecord[] {
  if (!value) return [];
  try {
    const parsed = z.array(SourceRecord).safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** A source's identity in records: name, URI and format, hashed (a URI may carry a token). */
export function sourceKey(source: Pick<DataSource, 'name' | 'uri' | 'format'>): string {
  return createHash('sha256').update(`${source.name}\0${source.uri}\0${source.format}`).digest('hex').slice(0, 16);
}

/** Options of the stager. */
export interface SourceStagerOptions {
  config: OperatorConfig;
  store: ArtifactStore;
  access: SourceAccess;
  log: Logger;
  /** A source of this request finished staging or changed: reconcile it. */
  onSettled: (requestKey: string) => void;
  /** The staging thread (tests pass a fake). */
  thread?: StagingCalls;
  /**
   * What earlier work recorded of the request's sources (the newest data Job's annotation): taken
   * as staged, and revalidated in the background, so a restarted operator does not set requests
   * back to fetching their data.
   */
  seeds?: (request: TrainingRequest) => SourceRecord[];
  now?: () => number;
}

/** How one source is staged. */
type Plan =
  | { kind: 'ready'; location: string; digest: string }
  | { kind: 'digest'; location: string; path: string; expectFolder: boolean; what: string }
  | { kind: 'download'; location: string; path: string; source: DataSource }
  | { kind: 'configmap'; location: string; path: string; configMap: string; key: string };

interface Entry {
  key: string;
  requestKey: string;
  state: 'pending' | 'ready' | 'failed';
  location: string;
  digest?: string;
  error?: string;
  fingerprint?: string;
  checkedAt: number;
  busy: boolean;
}

/**
 * Data sources, resolved without blocking reconciles: each source is staged once in the
 * background — `pvc://` files hashed, `https://` files downloaded onto the artifacts volume (with a
 * timeout and a size cap), `configmap://` keys copied — on a worker thread ({@link StagingThread}),
 * never on the event loop that renews the leader lease and answers probes. A reconcile reads the
 * result from memory: a source still staging is reported as pending (the pipeline waits, the
 * request shows `FetchingData`), and the request is enqueued again when it settles.
 *
 * A data Job records what it was made from (`traineragent.io/sources`); after a restart those
 * records count as staged, so requests do not flap back to fetching data they already have.
 *
 * Results are revalidated in the background at most every `sources.recheckSeconds`: a cheap
 * fingerprint (sizes and modification times) first, the content hash only when it changed, so
 * editing a file at the same URI still retrains.
 */
export class SourceStager {
  /** Staged sources by request key, then by source key. */
  private readonly byRequest = new Map<string, Map<string, Entry>>();
  private readonly thread: StagingCalls;
  private readonly now: () => number;

  constructor(private readonly options: SourceStagerOptions) {
    this.thread = options.thread ?? new StagingThread({ concurrency: options.config.sources.concurrency });
    this.now = options.now ?? Date.now;
  }

  /** Where each source of the request stands now; starts staging what is new or due. */
  resolve(request: TrainingRequest): ResolvedSources {
    const { namespace, name } = request.metadata;
    const requestKey = `${namespace}/${name}`;
    const mounts: DataMount[] = [];
    const sources: ObservedSource[] = [];
    const live = new Set<string>();
    let entries = this.byRequest.get(requestKey);
    if (!entries) this.byRequest.set(requestKey, (entries = new Map()));
    for (const source of request.spec.data ?? []) {
      const base = { name: source.name, role: source.role };
      let plan: Plan;
      try {
        plan = this.plan(request, source, mounts);
      } catch (error) {
        sources.push({ ...base, error: (error as Error).message });
        continue;
      }
      if (plan.kind === 'ready') {
        sources.push({ ...base, location: plan.location, digest: plan.digest });
        continue;
      }
      const key = `${requestKey}\0${source.name}\0${source.uri}\0${source.format}`;
      live.add(key);
      let entry = entries.get(key);
      if (!entry || entry.location !== plan.location) {
        const seed = this.options.seeds?.(request).find((r) => r.key === sourceKey(source) && r.location === plan.location);
        entry = seed
          ? { key, requestKey, state: 'ready', location: plan.location, digest: seed.digest, ...(seed.fingerprint ? { fingerprint: seed.fingerprint } : {}), checkedAt: Number.NEGATIVE_INFINITY, busy: false }
          : { key, requestKey, state: 'pending', location: plan.location, checkedAt: this.now(), busy: false };
        entries.set(key, entry);
        if (!seed) this.run(entry, plan, request, false);
      }
      if (!entry.busy && entry.state !== 'pending' && this.now() - entry.checkedAt > this.options.config.sources.recheckSeconds * 1000) {
        this.run(entry, plan, request, true);
      }
      if (entry.state === 'ready') sources.push({ ...base, location: entry.location, digest: entry.digest! });
      else if (entry.state === 'failed') sources.push({ ...base, error: entry.error! });
      else sources.push({ ...base, location: entry.location, pending: `staging ${redactUri(source.uri)}` });
    }
    // Sources removed from the spec are forgotten.
    for (const key of entries.keys()) if (!live.has(key)) entries.delete(key);
    if (entries.size === 0) this.byRequest.delete(requestKey);
    return { sources, mounts };
  }

  /** The request's staged sources as a data Job records them (`traineragent.io/sources`). */
  record(request: TrainingRequest): string {
    const requestKey = `${request.metadata.namespace}/${request.metadata.name}`;
    const records: SourceRecord[] = [];
    for (const source of request.spec.data ?? []) {
      const entry = this.byRequest.get(requestKey)?.get(`${requestKey}\0${source.name}\0${source.uri}\0${source.format}`);
      if (entry?.state === 'ready') records.push({ key: sourceKey(source), location: entry.location, digest: entry.digest!, ...(entry.fingerprint ? { fingerprint: entry.fingerprint } : {}) });
    }
    return JSON.stringify(records);
  }

  /** Forget a deleted request. */
  forget(requestKey: string): void {
    this.byRequest.delete(requestKey);
  }

  /** Stop the staging thread. */
  async close(): Promise<void> {
    await this.thread.close();
  }

  private plan(request: TrainingRequest, source: DataSource, mounts: DataMount[]): Plan {
    const { config, store } = this.options;
    const spec = request.spec;
    const root = store.root(request.metadata.namespace, request.metadata.name);
    const uri = source.uri;
    if (uri.startsWith('pvc://')) {
      const [claim, ...rest] = uri.slice('pvc://'.length).split('/');
      const path = rest.join('/');
      if (!claim || !path) throw new Error(`${uri}: expected pvc://<claim>/<path>`);
      const sameAsArtifacts = claim === (spec.storage?.pvc?.claimName ?? config.artifacts.claimName) && !spec.storage?.pvc?.subPath;
      let location: string;
      if (sameAsArtifacts) {
        location = `${config.artifacts.mountPath}/${path}`;
      } else {
        const mountPath = `${config.dataMountPath}/${claim}`;
        if (!mounts.some((m) => m.claimName === claim)) mounts.push({ claimName: claim, mountPath });
        location = `${mountPath}/${path}`;
      }
      const local = sameAsArtifacts ? store.local(spec, location) : config.artifacts.localPaths[claim] && join(config.artifacts.localPaths[claim]!, path);
      // Without a view of the claim the digest can only name the location, not its content.
      if (!local) return { kind: 'ready', location, digest: `uri:${createHash('sha256').update(uri).digest('hex')}` };
      return { kind: 'digest', location, path: local, expectFolder: source.format === 'imagefolder', what: `${uri} on claim ${claim}` };
    }
    if (uri.startsWith('configmap://')) {
      const [configMap, key] = uri.slice('configmap://'.length).split('/');
      if (!configMap || !key) throw new Error(`${uri}: expected configmap://<name>/<key>`);
      const location = `${root}/sources/${source.name}/${key}`;
      const path = store.local(spec, location);
      if (!path) throw new Error(`cannot stage ${uri}: the operator has no mount of the artifacts storage`);
      return { kind: 'configmap', location, path, configMap, key };
    }
    if (uri.startsWith('https://')) {
      const location = `${root}/sources/${source.name}/${basename(new URL(uri).pathname) || 'data'}`;
      const path = store.local(spec, location);
      if (!path) throw new Error(`cannot download ${redactUri(uri)}: the operator has no mount of the artifacts storage`);
      return { kind: 'download', location, path, source };
    }
    if (uri.startsWith('s3://')) throw new Error(`${uri}: s3:// sources are not supported by the Kubernetes backend yet; copy the data to a PVC (pvc://) or serve it over https://`);
    throw new Error(`${redactUri(uri)}: file: URIs are for local mode; in a cluster use pvc://, configmap:// or https://`);
  }

  private run(entry: Entry, plan: Exclude<Plan, { kind: 'ready' }>, request: TrainingRequest, revalidate: boolean): void {
    entry.busy = true;
    const before = { state: entry.state, digest: entry.digest, error: entry.error };
    this.stage(entry, plan, request, revalidate)
      .then(
        (result) => {
          entry.state = 'ready';
          entry.digest = result.digest;
          entry.fingerprint = result.fingerprint;
          delete entry.error;
        },
        (error: unknown) => {
          entry.state = 'failed';
          entry.error = (error as Error).message;
          delete entry.digest;
        },
      )
      .finally(() => {
        entry.busy = false;
        entry.checkedAt = this.now();
        const changed = before.state !== entry.state || before.digest !== entry.digest || before.error !== entry.error;
        if (changed && this.byRequest.get(entry.requestKey)?.get(entry.key) === entry) {
          const { namespace, name } = request.metadata;
          this.options.log.debug({ namespace, name, source: plan.location, state: entry.state }, 'Staged data source');
          this.options.onSettled(entry.requestKey);
        }
      });
  }

  private async stage(entry: Entry, plan: Exclude<Plan, { kind: 'ready' }>, request: TrainingRequest, revalidate: boolean): Promise<{ digest: string; fingerprint?: string }> {
    const { config, access } = this.options;
    const { namespace } = request.metadata;
    switch (plan.kind) {
      case 'digest':
      case 'download': {
        // Unchanged since it was hashed: nothing to read.
        if (revalidate && entry.state === 'ready' && entry.fingerprint) {
          const seen = await this.thread.call({ op: 'fingerprint', path: plan.path }).catch(() => undefined);
          if (seen?.fingerprint === entry.fingerprint) return { digest: entry.digest!, fingerprint: entry.fingerprint };
        }
        if (plan.kind === 'digest') {
          try {
            return await this.thread.call({ op: 'digest', path: plan.path, expectFolder: plan.expectFolder });
          } catch (error) {
            throw new Error(`${plan.what}: ${(error as Error).message}`);
          }
        }
        // Downloaded once: an existing file is only hashed (and rehashed when it changes).
        const existing = await this.thread.call({ op: 'digest', path: plan.path, expectFolder: false }).catch(() => undefined);
        if (existing) return existing;
        const { source } = plan;
        const headers: Record<string, string> = {};
        if (source.credentialsSecretRef) {
          const token = await access.readSecretKey(namespace, source.credentialsSecretRef.name, source.credentialsSecretRef.key ?? 'token');
          if (token) headers['authorization'] = `Bearer ${token}`;
        }
        return this.thread.call({ op: 'download', url: source.uri, label: redactUri(source.uri), dest: plan.path, headers, maxBytes: config.sources.maxDownloadBytes, timeoutMs: config.sources.downloadTimeoutSeconds * 1000 });
      }
      case 'configmap': {
        const cm = await access.readConfigMap(namespace, plan.configMap);
        if (!cm) throw new Error(`ConfigMap ${plan.configMap} not found in ${namespace}`);
        const text = cm.data?.[plan.key];
        const content = text !== undefined ? Buffer.from(text) : cm.binaryData?.[plan.key] !== undefined ? Buffer.from(cm.binaryData[plan.key]!, 'base64') : undefined;
        if (content === undefined) throw new Error(`ConfigMap ${plan.configMap} has no key ${plan.key}`);
        // At most 1 MiB (the API server's limit on an object): hashing it here takes a millisecond.
        const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
        const onDisk = await readFile(plan.path).catch(() => undefined);
        if (!onDisk || !onDisk.equals(content)) {
          await mkdir(dirname(plan.path), { recursive: true });
          const tmp = `${plan.path}.${process.pid}.tmp`;
          await writeFile(tmp, content);
          await rename(tmp, plan.path);
        }
        return { digest };
      }
    }
  }
}

/** A URI fit for status and logs: no user info, query or fragment (they may carry credentials). */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (!/^https?:$/.test(url.protocol)) return uri;
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return uri.replace(/\?.*$/, '?…');
  }
}
