import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listRequests, readStatus, requestDir } from '../local/state.js';
import { summarise } from './run.js';

/** `trainer-agent status [name] [-o json]`: one request's summary or status, or a table of all. */
export function statusCommand(stateDir: string, namespace: string, name: string | undefined, output: string | undefined): number {
  const root = resolve(stateDir);
  if (!name) {
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
  const dir = requestDir(resolve(stateDir), namespace, name);
  const events = join(dir, 'events.jsonl');
  if (!existsSync(dir)) throw new Error(`no request ${namespace}/${name}`);
  if (existsSync(events)) process.stdout.write(readFileSync(events, 'utf8'));
  const jobsDir = join(dir, 'jobs');
  if (existsSync(jobsDir)) {
    for (const job of readdirSync(jobsDir).sort()) {
      const log = join(jobsDir, job, 'job.log');
      if (existsSync(log)) process.stdout.write(`==> ${job}\n${readFileSync(log, 'utf8')}\n`);
    }
  }
  return 0;
}

/** `trainer-agent delete <name>`: remove the request's state and artifacts. */
export function deleteCommand(stateDir: string, namespace: string, name: string): number {
  const dir = requestDir(resolve(stateDir), namespace, name);
  if (!existsSync(dir)) throw new Error(`no request ${namespace}/${name}`);
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`Deleted ${namespace}/${name}\n`);
  return 0;
}
