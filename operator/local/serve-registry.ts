import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, readRecord, thisProcess, type ProcessRecord } from './lock.js';
import { writeFileAtomic } from './state.js';

const PREFIX = 'serve-';

/**
 * Record that this process serves the request in `dir` (`serve-<pid>.json`, with its URL), so that
 * `delete` can stop it. Returns the function that removes the record.
 */
export function registerServe(dir: string, url: string): () => void {
  const path = join(dir, `${PREFIX}${process.pid}.json`);
  writeFileAtomic(path, `${JSON.stringify(thisProcess('serve', { url }))}\n`);
  const unregister = () => {
    process.off('exit', unregister);
    rmSync(path, { force: true });
  };
  process.on('exit', unregister);
  return unregister;
}

/** The live `serve` processes of the request in `dir`. */
export function liveServes(dir: string): ProcessRecord[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith(PREFIX) && f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => readRecord(join(dir, f))).filter((r): r is ProcessRecord => r !== undefined && r.command === 'serve' && isAlive(r));
}

/**
 * Stop every live `serve` of the request in `dir`: SIGTERM (they close gracefully), then SIGKILL for
 * any still there after `graceMs`. Resolves with the processes stopped, once all are gone.
 */
export async function stopServes(dir: string, graceMs = 10_000): Promise<ProcessRecord[]> {
  const serves = liveServes(dir);
  const signal = (s: ProcessRecord, name: NodeJS.Signals) => {
    try {
      process.kill(s.pid, name);
    } catch {
      // Exited in between.
    }
  };
  for (const s of serves) signal(s, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (serves.some(isAlive)) {
    if (Date.now() > deadline) {
      for (const s of serves.filter(isAlive)) signal(s, 'SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return serves;
}
