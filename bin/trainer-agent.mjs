#!/usr/bin/env node
// Entry point: runs the TypeScript sources directly (tsx), on Node 24 from the npm `node` package.
// When started by an older Node (e.g. the system's Node 20 via a direct path), re-executes itself
// with the project's Node so `trainer-agent` works however it is invoked.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const projectNode = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(projectNode)) {
    process.stderr.write(`trainer-agent needs Node >= 24 (found ${process.version}); run npm ci first.\n`);
    process.exit(1);
  }
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TRAINER_AGENT_WRAPPER_PID: String(process.pid) },
  });
  // A signal sent to this wrapper alone (kill PID, a supervisor) must reach the real process.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} else {
  // Started by the wrapper above: a `kill -9` of the wrapper (the pid the user started) cannot reach
  // this process, so it watches for being re-parented and stops itself — and with it, its jobs.
  const wrapper = Number(process.env.TRAINER_AGENT_WRAPPER_PID);
  delete process.env.TRAINER_AGENT_WRAPPER_PID;
  if (wrapper > 0 && process.ppid === wrapper) {
    const watch = setInterval(() => {
      if (process.ppid === wrapper) return;
      clearInterval(watch);
      process.stderr.write(`trainer-agent: the process that started this one (pid ${wrapper}) is gone; stopping\n`);
      if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
      else process.exit(143);
    }, 250).unref();
  }
  const { register } = await import('tsx/esm/api');
  register();
  if (process.argv[2] === 'operator') {
    // The operator runs for months under a memory limit: load its module graph only, not the
    // local backend, the model server and the LLM client that the other commands need.
    const { operatorCommandFromArgs } = await import(join(root, 'operator', 'cli', 'operator.ts'));
    try {
      process.exitCode = await operatorCommandFromArgs(process.argv.slice(3));
    } catch (error) {
      // Bad flags or config, as main.ts reports them (exit 64 for usage errors there, 1 here).
      process.stderr.write(`trainer-agent operator: ${error.message}\n`);
      process.exitCode = 1;
    }
  } else {
    const { main } = await import(join(root, 'operator', 'cli', 'main.ts'));
    process.exitCode = await main(process.argv.slice(2));
  }
}
