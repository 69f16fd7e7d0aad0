#!/usr/bin/env node
// Entry point: runs the TypeScript sources directly (tsx), on Node 24 from the npm `node` package.
// When started by an older Node (e.g. the system's Node 20 via a direct path), re-executes itself
// with the project's Node so `trainer-agent` works however it is invoked.
import { spawnSync } from 'node:child_process';
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
  const child = spawnSync(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import(join(root, 'operator', 'cli', 'main.ts'));
process.exitCode = await main(process.argv.slice(2));
