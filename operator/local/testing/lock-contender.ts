/**
 * One contender of the lock stress test (operator/local/lock.test.ts): takes and releases a request's
 * lock `rounds` times; while holding it, it enters a critical section that must be its alone. Now and
 * then it "dies" holding the lock (leaves a lock naming a dead pid), so others must take over.
 * Prints `{"held": n, "overlaps": n}`.
 */
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, LockHeldError } from '../lock.js';

const [dir, roundsText, seedText] = process.argv.slice(2);
const rounds = Number(roundsText);
let seed = Number(seedText);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const deadPid = spawnSync('true').pid!;
const critical = join(dir!, 'critical');
let held = 0;
let overlaps = 0;
for (let i = 0; i < rounds; i += 1) {
  let release: (() => void) | undefined;
  try {
    release = acquireLock(dir!);
  } catch (error) {
    if (error instanceof LockHeldError) continue;
    throw error;
  }
  held += 1;
  try {
    writeFileSync(critical, String(process.pid), { flag: 'wx' });
  } catch {
    overlaps += 1;
    release();
    continue;
  }
  rmSync(critical);
  if (random() < 0.2) {
    // Die holding the lock: a lock naming a pid that no longer runs appears atomically.
    const tmp = join(dir!, `dead.${process.pid}.tmp`);
    writeFileSync(tmp, String(deadPid));
    renameSync(tmp, join(dir!, 'run.lock'));
  } else {
    release();
  }
}
process.stdout.write(`${JSON.stringify({ held, overlaps })}\n`);
