import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../cluster/cluster.js';

/** The e2e API server's audit log (see e2e/cluster/audit-policy.yaml). */
export const auditLogPath = join(stateDir, 'logs', 'audit.log');

/** One API call as the API server recorded it. */
export interface AuditCall {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  uri: string;
  code: number;
  /** Milliseconds since the epoch, when the answer was sent (watches: when they started). */
  at: number;
  user: string;
}

/** Reads: get, list, watch. */
export const isRead = (call: AuditCall): boolean => call.verb === 'get' || call.verb === 'list' || call.verb === 'watch';

/**
 * Every completed call in the audit log, once each: `ResponseComplete` events, and watches at
 * `ResponseStarted` (a watch completes only when it ends). Reads from `offset` bytes on.
 */
export function readAudit(offset = 0, path = auditLogPath): { calls: AuditCall[]; offset: number } {
  if (!existsSync(path)) return { calls: [], offset };
  const text = readFileSync(path).subarray(offset);
  const end = text.lastIndexOf(10) + 1;
  const calls: AuditCall[] = [];
  for (const line of text.subarray(0, end).toString('utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { stage: string; verb: string; requestURI: string; objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string }; responseStatus?: { code?: number }; stageTimestamp: string; user?: { username?: string } };
    if (!(e.stage === 'ResponseComplete' && e.verb !== 'watch') && !(e.stage === 'ResponseStarted' && e.verb === 'watch')) continue;
    calls.push({
      verb: e.verb,
      resource: e.objectRef?.resource ?? '',
      ...(e.objectRef?.namespace ? { namespace: e.objectRef.namespace } : {}),
      ...(e.objectRef?.name ? { name: e.objectRef.name } : {}),
      ...(e.objectRef?.subresource ? { subresource: e.objectRef.subresource } : {}),
      uri: e.requestURI,
      code: e.responseStatus?.code ?? 0,
      at: Date.parse(e.stageTimestamp),
      user: e.user?.username ?? '',
    });
  }
  return { calls, offset: offset + end };
}

/**
 * The TrainingRequest a call was about, when it names one: the request itself, its Jobs
 * (`<request>-<kind>-<hash>`), Events (`<request>.<suffix>`), serving objects (`<request>-triton`,
 * `<request>-api`), or a list filtered by the `traineragent.io/request` label.
 */
export function requestOf(call: AuditCall, known: ReadonlySet<string>): string | undefined {
  if (call.resource === 'trainingrequests') return call.name;
  const label = /traineragent\.io%2Frequest%3D([a-z0-9-]+)/i.exec(call.uri)?.[1] ?? /traineragent\.io\/request=([a-z0-9-]+)/.exec(decodeURIComponent(call.uri))?.[1];
  if (label) return label;
  if (!call.name) return undefined;
  if (call.resource === 'events') {
    const base = call.name.slice(0, call.name.lastIndexOf('.'));
    return known.has(base) ? base : undefined;
  }
  // The longest known request name the child's name starts with.
  let best: string | undefined;
  for (let i = call.name.indexOf('-'); i > 0; i = call.name.indexOf('-', i + 1)) {
    const prefix = call.name.slice(0, i);
    if (known.has(prefix)) best = prefix;
  }
  return best;
}
