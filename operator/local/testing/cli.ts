import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingRequestStatus } from '../../api/training-request.js';

/** The repository root. */
export const REPO = resolve(import.meta.dirname, '../../..');
const BIN = join(REPO, 'bin', 'trainer-agent.mjs');
const NODE = join(REPO, 'node_modules', 'node', 'bin', 'node');

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Start `trainer-agent ARGS` as a child process, as a user would (with `node`, the project's Node by default). */
export function startCli(args: string[], cwd = REPO, node = existsSync(NODE) ? NODE : process.execPath, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(node, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((ok) => child.on('close', (code, signal) => ok({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  return { child, done };
}

/** Run `trainer-agent ARGS` to completion. */
export function cli(args: string[], cwd = REPO, env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, cwd, undefined, env).done;
}

/** status.json of a request under a state dir. */
export function readStatusFile(stateDir: string, name: string, namespace = 'default'): TrainingRequestStatus {
  return TrainingRequestStatus.parse(JSON.parse(readFileSync(join(stateDir, namespace, name, 'status.json'), 'utf8')));
}

/** One condition of a status. */
export function conditionOf(status: TrainingRequestStatus, type: string) {
  return status.conditions?.find((c) => c.type === type);
}

/** Poll until `check` returns a value, or fail after `timeoutMs`. */
export async function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
