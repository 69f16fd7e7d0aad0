import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Who holds a lock (or registered a process): pid, its start time, and what it does. */
export interface ProcessRecord {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), to tell a reused pid from the holder. */
  startTime?: string;
  command: string;
  since: string;
  [extra: string]: unknown;
}

/** Start time of `pid` from /proc (field 22 of stat), when readable. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A record describing this process. */
export function thisProcess(command: string, extra: Record<string, unknown> = {}): ProcessRecord {
  const startTime = processStartTime(process.pid);
  return { pid: process.pid, ...(startTime ? { startTime } : {}), command, since: new Date().toISOString(), ...extra };
}

/** Whether the process a record names is still that process (a reused pid is not). */
export function isAlive(record: ProcessRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (record.startTime === undefined) return true;
  const now = processStartTime(record.pid);
  return now === undefined || now === record.startTime;
}

/** What a record file holds: a record, nothing (the file is gone) or something that is no record. */
type RecordRead = ProcessRecord | 'missing' | 'corrupt';

function readRecordFile(path: string): RecordRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'corrupt';
  }
  // Older versions wrote a bare pid.
  if (/^\d+$/.test(text.trim())) return { pid: Number(text.trim()), command: 'run', since: '' };
  try {
    const parsed = JSON.parse(text) as ProcessRecord;
    return Number.isInteger(parsed.pid) && parsed.pid > 0 ? parsed : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

/** Read a record file; undefined when it is gone or holds no record. */
export function readRecord(path: string): ProcessRecord | undefined {
  const read = readRecordFile(path);
  return typeof read === 'string' ? undefined : read;
}

const same = (a: RecordRead | undefined, b: RecordRead): boolean =>
  typeof a === 'string' || typeof b === 'string' || a === undefined
    ? a === b
    : a.pid === b.pid && a.startTime === b.startTime && a.since === b.since;

/** Block this thread for `ms` (the lock is taken synchronously, before anything else runs). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The lock is held by a live process. */
export class LockHeldError extends Error {
  constructor(readonly holder: ProcessRecord, message: string) {
    super(message);
  }
}

/** Name of the lock file in a request's folder. */
export const LOCK_FILE = 'run.lock';

/** A takeover marker older than this belongs to a process that died in the microseconds it holds one. */
const STALE_MARKER_MS = 30_000;

/**
 * Take the request's lock: one `run` (or `delete`) at a time. The lock file appears atomically with
 * its holder inside (written to a private file, then hard-linked into place), so no contender ever
 * reads a half-written lock. A lock whose holder died is taken over under a marker file named after
 * that holder, which only one contender can create: two contenders never both remove a lock, and
 * neither removes a lock a live process has just taken. Returns a release function, or throws
 * {@link LockHeldError} naming the live holder.
 */
export function acquireLock(dir: string, command = 'run'): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const mine = thisProcess(command);
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(draft, JSON.stringify(mine));
  try {
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      try {
        linkSync(draft, path);
        // A process that exits without releasing (process.exit from a signal handler) still lets go.
        const release = () => {
          process.off('exit', release);
          if (same(readRecordFile(path), mine)) rmSync(path, { force: true });
        };
        process.on('exit', release);
        return release;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readRecordFile(path);
      if (holder === 'missing') continue; // released in between: try again
      if (holder !== 'corrupt' && holder.pid === process.pid && holder.startTime === mine.startTime) {
        throw new LockHeldError(holder, 'this process already holds the lock');
      }
      if (holder !== 'corrupt' && isAlive(holder)) {
        throw new LockHeldError(holder, `another trainer-agent ${holder.command} (pid ${holder.pid}, since ${holder.since}) is working on this request; stop it (kill ${holder.pid}) or wait`);
      }
      takeOver(path, holder, mine);
    }
    throw new Error(`could not take the lock ${path}`);
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * Remove a dead holder's (or an unreadable) lock, as the only contender allowed to (see
 * {@link acquireLock}). Every removal of a lock other than one's own happens here, under the marker
 * named after what was read: so between reading the dead holder and removing its lock, nobody else
 * can have replaced it.
 */
function takeOver(path: string, dead: ProcessRecord | 'corrupt', mine: ProcessRecord): void {
  const id = dead === 'corrupt' ? 'corrupt' : `${dead.pid}-${dead.startTime ?? 'x'}-${(dead.since || 'x').replace(/[^0-9A-Za-z]/g, '')}`;
  const marker = `${path}.takeover-${id}`;
  try {
    writeFileSync(marker, JSON.stringify(mine), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    clearStaleMarker(marker);
    pause(2);
    return;
  }
  try {
    // Under the marker, only the dead holder's lock is removed: if it changed, someone else won.
    if (same(readRecordFile(path), dead)) rmSync(path, { force: true });
  } finally {
    rmSync(marker, { force: true });
  }
}

function clearStaleMarker(marker: string): void {
  try {
    const owner = readRecord(marker);
    if (Date.now() - statSync(marker).mtimeMs > STALE_MARKER_MS && (!owner || !isAlive(owner))) rmSync(marker, { force: true });
  } catch {
    // Gone already.
  }
}

/** The live holder of a request's lock, if any. */
export function lockHolder(dir: string): ProcessRecord | undefined {
  const holder = readRecord(join(dir, LOCK_FILE));
  return holder && isAlive(holder) ? holder : undefined;
}
