import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TrainingRequest } from '../api/training-request.js';
import { artifactsLocalRoot, type OperatorConfig } from './config.js';

/**
 * The artifacts volume as this process sees it. Jobs and Triton mount the request's claim at
 * `artifacts.mountPath`; the operator reads result.json and writes job specs and the API document
 * through its own mount of the same storage. Paths in status are the mount paths jobs see. All
 * file access is asynchronous: a slow network volume never stalls the event loop.
 */
export class ArtifactStore {
  constructor(private readonly config: OperatorConfig) {}

  /** The request's artifact root as jobs see it: `<mountPath>/<namespace>/<name>`. */
  root(namespace: string, name: string): string {
    return `${this.config.artifacts.mountPath}/${namespace}/${name}`;
  }

  /** Where this process sees the request's claim (subPath applied), or undefined when it cannot. */
  localBase(spec: TrainingRequest['spec']): string | undefined {
    const pvc = spec.storage?.pvc;
    const claim = pvc?.claimName ?? this.config.artifacts.claimName;
    const base = claim === this.config.artifacts.claimName ? artifactsLocalRoot(this.config) : this.config.artifacts.localPaths[claim];
    if (!base) return undefined;
    return pvc?.subPath ? join(base, pvc.subPath) : base;
  }

  /** The local path of a path jobs see, or undefined when it is outside the artifacts mount or unmapped. */
  local(spec: TrainingRequest['spec'], jobPath: string): string | undefined {
    const mount = this.config.artifacts.mountPath.replace(/\/+$/, '');
    if (jobPath !== mount && !jobPath.startsWith(`${mount}/`)) return undefined;
    const base = this.localBase(spec);
    return base === undefined ? undefined : join(base, jobPath.slice(mount.length));
  }

  /** Parsed JSON at a job path; undefined when missing, unmapped or unreadable. */
  async readJson(spec: TrainingRequest['spec'], jobPath: string): Promise<unknown> {
    const path = this.local(spec, jobPath);
    if (!path) return undefined;
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Write a file at a job path atomically, only when its content differs. Throws when unmapped. */
  async writeFile(spec: TrainingRequest['spec'], jobPath: string, content: string): Promise<boolean> {
    const path = this.local(spec, jobPath);
    if (!path) throw new ArtifactsUnavailableError(jobPath);
    if ((await readFile(path, 'utf8').catch(() => undefined)) === content) return false;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, content);
    await rename(tmp, path);
    return true;
  }
}

/** The operator cannot reach the artifacts storage it needs. */
export class ArtifactsUnavailableError extends Error {
  constructor(path: string) {
    super(`The operator has no mount of the artifacts storage for ${path}: mount the claim into the operator (chart: artifacts.mountInOperator, or config artifacts.localPaths).`);
    this.name = 'ArtifactsUnavailableError';
  }
}
