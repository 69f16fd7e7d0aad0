import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { checkDnsLabel, dnsLabelProblem } from '../api/names.js';
import { TrainingRequestStatus, type TrainingRequest } from '../api/training-request.js';

/** A path that would leave the state directory. */
export class OutsideStateDirError extends Error {}

/** Whether `target` is `root` itself or below it (both absolute and normalised). */
export function within(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * `root/...parts`, proven to stay strictly below `root`: neither `..`, an absolute part nor a symbolic
 * link on the way (the deepest part that exists is resolved) may lead outside it.
 */
export function containedPath(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const target = resolve(base, ...parts);
  if (target === base || !within(base, target)) throw new OutsideStateDirError(`${join(...parts)} is not inside ${base}`);
  if (existsSync(base)) {
    let probe = target;
    while (!existsSync(probe) && probe !== base) probe = dirname(probe);
    const real = realpathSync(probe);
    const realBase = realpathSync(base);
    if (!within(realBase, real) || (probe === target && real === realBase)) {
      throw new OutsideStateDirError(`${target} leads outside ${base} (through a symbolic link to ${real})`);
    }
  }
  return target;
}

/**
 * Where one request's local state lives: `DIR/<namespace>/<name>/`. Namespace and name must be DNS-1123
 * labels, as the API server requires, and the folder must stay inside DIR.
 */
export function requestDir(stateDir: string, namespace: string, name: string): string {
  checkDnsLabel('namespace', namespace);
  checkDnsLabel('name', name);
  return containedPath(stateDir, namespace, name);
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

/** Apply `f` to every status field that holds a local path (model, API doc, reports, attempts). */
function mapStatusPaths(status: TrainingRequestStatus, f: (path: string) => string): TrainingRequestStatus {
  const out: TrainingRequestStatus = { ...status };
  if (out.model?.uri) out.model = { ...out.model, uri: f(out.model.uri) };
  if (out.apiDoc) out.apiDoc = { ...out.apiDoc, uri: f(out.apiDoc.uri) };
  if (out.data?.reportUri) out.data = { ...out.data, reportUri: f(out.data.reportUri) };
  if (out.reportUri) out.reportUri = f(out.reportUri);
  if (out.attempts) out.attempts = out.attempts.map((a) => (a.artifacts ? { ...a, artifacts: f(a.artifacts) } : a));
  return out;
}

/**
 * Paths inside the request's folder are stored relative to it, so a copied or moved state directory
 * serves its own model, never the original's. Paths elsewhere stay as they are.
 */
export function statusForDisk(dir: string, status: TrainingRequestStatus): TrainingRequestStatus {
  const base = resolve(dir);
  return mapStatusPaths(status, (p) => (isAbsolute(p) && within(base, p) && p !== base ? relative(base, p).split(sep).join('/') : p));
}

/** The inverse of {@link statusForDisk}: relative paths resolved inside `dir`; one that would leave it is refused. */
export function statusFromDisk(dir: string, status: TrainingRequestStatus): TrainingRequestStatus {
  return mapStatusPaths(status, (p) => (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? p : containedPath(dir, p)));
}

/** Read status.json (shaped exactly like the resource's status), with its paths resolved in `dir`. */
export function readStatus(dir: string): TrainingRequestStatus | undefined {
  const path = join(dir, 'status.json');
  return existsSync(path) ? statusFromDisk(dir, TrainingRequestStatus.parse(JSON.parse(readFileSync(path, 'utf8')))) : undefined;
}

/** Write status.json atomically, with paths inside `dir` relative to it. */
export function writeStatus(dir: string, status: TrainingRequestStatus): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'status.json'), `${JSON.stringify(statusForDisk(dir, status), null, 2)}\n`);
}

/** Every request under a state dir, as [namespace, name]; folders whose names the API server would refuse are not requests. */
export function listRequests(stateDir: string): [string, string][] {
  if (!existsSync(stateDir)) return [];
  return readdirSync(stateDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !dnsLabelProblem(d.name))
    .flatMap((ns) =>
      readdirSync(join(stateDir, ns.name), { withFileTypes: true })
        .filter((d) => d.isDirectory() && !dnsLabelProblem(d.name) && existsSync(join(stateDir, ns.name, d.name, 'status.json')))
        .map((d): [string, string] => [ns.name, d.name]),
    );
}
