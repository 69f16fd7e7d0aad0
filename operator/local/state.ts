import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainingRequestStatus, type TrainingRequest } from '../api/training-request.js';

/** Where one request's local state lives: `DIR/<namespace>/<name>/`. */
export function requestDir(stateDir: string, namespace: string, name: string): string {
  return join(stateDir, namespace, name);
}

/** Write a file atomically (write to a temporary name, then rename), so a kill never leaves half a file. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** The request as last accepted, with the generation the local runner gave it. */
export interface StoredRequest {
  generation: number;
  specHash: string;
  request: TrainingRequest;
}

/** Hash of a spec, to tell whether the user changed it (which bumps the generation). */
export function specHash(spec: TrainingRequest['spec']): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/** Read the stored request, if any. */
export function readStoredRequest(dir: string): StoredRequest | undefined {
  const path = join(dir, 'request.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as StoredRequest) : undefined;
}

/** Store the request the runner is working on. */
export function writeStoredRequest(dir: string, stored: StoredRequest): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'request.json'), `${JSON.stringify(stored, null, 2)}\n`);
}

/** Read status.json (shaped exactly like the resource's status). */
export function readStatus(dir: string): TrainingRequestStatus | undefined {
  const path = join(dir, 'status.json');
  return existsSync(path) ? TrainingRequestStatus.parse(JSON.parse(readFileSync(path, 'utf8'))) : undefined;
}

/** Write status.json atomically. */
export function writeStatus(dir: string, status: TrainingRequestStatus): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
}

/** Every request under a state dir, as [namespace, name]. */
export function listRequests(stateDir: string): [string, string][] {
  if (!existsSync(stateDir)) return [];
  return readdirSync(stateDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((ns) =>
      readdirSync(join(stateDir, ns.name), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(stateDir, ns.name, d.name, 'status.json')))
        .map((d): [string, string] => [ns.name, d.name]),
    );
}
