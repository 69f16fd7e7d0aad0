import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireLock, isAlive, lockHolder, LockHeldError, thisProcess } from './lock.js';

const repo = resolve(import.meta.dirname, '../..');
const fresh = () => mkdtempSync(join(tmpdir(), 'lock-'));
const deadPid = () => spawnSync('true').pid!;

describe('the run lock', () => {
  it.each([
    { name: 'a free lock is taken and released', before: undefined, takes: true },
    { name: 'a lock naming a dead pid (older bare-pid format) is taken over', before: () => String(deadPid()), takes: true },
    { name: 'a lock naming a dead process is taken over', before: () => JSON.stringify({ pid: deadPid(), command: 'run', since: 'then' }), takes: true },
    { name: 'a reused pid with another start time is not the holder', before: () => JSON.stringify({ pid: process.ppid, startTime: '1', command: 'run', since: 'then' }), takes: true },
    { name: 'an unreadable lock is taken over', before: () => 'garbage', takes: true },
    { name: 'a live holder keeps it, and is named', before: () => JSON.stringify(thisProcess('run', { pid: process.ppid, startTime: undefined })), takes: false },
  ])('$name', ({ before, takes }) => {
    const dir = fresh();
    if (before) writeFileSync(join(dir, 'run.lock'), before());
    if (!takes) {
      expect(() => acquireLock(dir)).toThrow(new RegExp(`pid ${process.ppid}`));
      return;
    }
    const release = acquireLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')).pid).toBe(process.pid);
    expect(lockHolder(dir)?.pid).toBe(process.pid);
    expect(() => acquireLock(dir)).toThrow(LockHeldError);
    release();
    expect(lockHolder(dir)).toBeUndefined();
  });

  it('tells a live process from a dead one', () => {
    expect(isAlive(thisProcess('test'))).toBe(true);
    expect(isAlive({ pid: deadPid(), command: 'x', since: '' })).toBe(false);
  });

  it('is exclusive under contention, with holders dying and being taken over', async () => {
    const dir = fresh();
    const contenders = 6;
    const rounds = 400;
    const runs = Array.from({ length: contenders }, (_, i) => new Promise<{ held: number; overlaps: number }>((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'operator/local/testing/lock-contender.ts'), dir, String(rounds), String(i + 1)], { cwd: repo, env: { ...process.env, NODE_OPTIONS: '' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => (code === 0 ? done(JSON.parse(out)) : fail(new Error(err))));
    }));
    const results = await Promise.all(runs);
    const held = results.reduce((a, r) => a + r.held, 0);
    expect(results.reduce((a, r) => a + r.overlaps, 0)).toBe(0);
    // Contention really happened: holders died and were taken over many times.
    expect(held).toBeGreaterThan(rounds);
  }, 120_000);
});
