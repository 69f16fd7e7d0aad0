import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { acquireLock, LockHeldError } from '../local/lock.js';
import { stopServes } from '../local/serve-registry.js';
import { containedPath, listRequests, readStatus, requestDir } from '../local/state.js';
import { summarise } from './run.js';

/** `trainer-agent status [name] [-o json]`: one request's summary or status, or a table of all. */
export function statusCommand(stateDir: string, namespace: string, name: string | undefined, output: string | undefined): number {
  if (output !== undefined && output !== 'json') throw new Error(`unknown output format ${JSON.stringify(output)}: use -o json or nothing`);
  const root = resolve(stateDir);
  if (name === undefined) {
    const rows = listRequests(root).map(([ns, n]) => {
      const s = readStatus(requestDir(root, ns, n))!;
      return [ns, n, s.phase ?? '', s.conditions?.find((c) => c.type === 'Ready')?.status ?? '', s.metric ?? '', s.endpoint?.url ?? ''];
    });
    if (output === 'json') {
      process.stdout.write(`${JSON.stringify(rows.map(([ns, n, phase, ready, metric, endpoint]) => ({ namespace: ns, name: n, phase, ready, metric, endpoint })), null, 2)}\n`);
      return 0;
    }
    const head = ['NAMESPACE', 'NAME', 'PHASE', 'READY', 'METRIC', 'ENDPOINT'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    return 0;
  }
  const dir = requestDir(root, namespace, name);
  const status = readStatus(dir);
  if (!status) throw new Error(`no request ${namespace}/${name} under ${root}`);
  process.stdout.write(output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : `${summarise(name, dir, status)}\n`);
  return 0;
}

/** `trainer-agent logs <name>`: the events and every job's log, oldest first. */
export function logsCommand(stateDir: string, namespace: string, name: string): number {
  const root = resolve(stateDir);
  const dir = requestDir(root, namespace, name);
  if (!existsSync(dir)) throw new Error(`no request ${namespace}/${name} under ${root}`);
  const events = containedPath(dir, 'events.jsonl');
  if (existsSync(events)) process.stdout.write(readFileSync(events, 'utf8'));
  const jobsDir = containedPath(dir, 'jobs');
  if (existsSync(jobsDir)) {
    for (const job of readdirSync(jobsDir).sort()) {
      const log = containedPath(jobsDir, job, 'job.log');
      if (existsSync(log)) process.stdout.write(`==> ${job}\n${readFileSync(log, 'utf8')}\n`);
    }
  }
  return 0;
}

/**
 * `trainer-agent delete <name>`: remove the request's state and artifacts. Refused while a `run` holds
 * the request (deleting under it would leave half a state it then recreates); a `serve` of the
 * request is stopped first, so nothing keeps answering from a model that is gone.
 */
export async function deleteCommand(stateDir: string, namespace: string, name: string, log: (line: string) => void): Promise<number> {
  const root = resolve(stateDir);
  const dir = requestDir(root, namespace, name);
  if (!existsSync(dir)) throw new Error(`no request ${namespace}/${name} under ${root}`);
  let release: () => void;
  try {
    release = acquireLock(dir, 'delete');
  } catch (error) {
    if (error instanceof LockHeldError) {
      throw new Error(`${namespace}/${name} is in use by trainer-agent ${error.holder.command} (pid ${error.holder.pid}); stop it (kill ${error.holder.pid}) or let it finish, then delete`);
    }
    throw error;
  }
  try {
    for (const stopped of await stopServes(dir)) log(`Stopped trainer-agent serve (pid ${stopped.pid}${typeof stopped.url === 'string' ? `, ${stopped.url}` : ''})`);
    rmSync(containedPath(root, namespace, name), { recursive: true, force: true });
  } finally {
    release();
  }
  log(`Deleted ${namespace}/${name}`);
  return 0;
}
