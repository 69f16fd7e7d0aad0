import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSource } from '../api/training-request.js';
import type { ObservedSource } from '../pipeline/types.js';

/** Resolve a local data URI: `file:///abs` or `file:relative` (relative to the request file's folder). */
export function resolveLocalUri(uri: string, requestDir: string): string {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  if (uri.startsWith('file:')) {
    const path = uri.slice('file:'.length);
    return isAbsolute(path) ? path : resolve(requestDir, path);
  }
  throw new Error(`local mode reads file: URIs only (got ${uri.split(':')[0]}:); use a cluster for pvc, s3, https and configmap sources`);
}

/** What a path is, in words, when it is neither a regular file nor a folder. */
function specialKind(stat: Stats): string | undefined {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return undefined;
}

/**
 * sha256 over a file, or over every file in a folder (paths and contents, in sorted order). Only
 * regular files are read: a named pipe or a device would block or never end, so it is refused.
 */
export function contentDigest(path: string): string {
  const hash = createHash('sha256');
  const visit = (p: string) => {
    const stat = statSync(p);
    const special = specialKind(stat);
    if (special) throw new Error(`${p} is ${special}, not a regular file; data sources must be files or folders of files`);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(p).sort()) visit(join(p, entry));
    } else {
      hash.update(relative(path, p));
      hash.update(readFileSync(p));
    }
  };
  visit(path);
  return `sha256:${hash.digest('hex')}`;
}

/** What the local backend sees of each data source: its location and content digest, or why not. */
export function observeLocalSources(sources: readonly DataSource[], requestFileDir: string): ObservedSource[] {
  return sources.map((s) => {
    try {
      const location = resolveLocalUri(s.uri, requestFileDir);
      if (!existsSync(location)) return { name: s.name, role: s.role, error: `${location} does not exist` };
      if (s.format === 'imagefolder' && !statSync(location).isDirectory()) return { name: s.name, role: s.role, error: `${location} is not a folder` };
      return { name: s.name, role: s.role, location, digest: contentDigest(location) };
    } catch (error) {
      return { name: s.name, role: s.role, error: (error as Error).message };
    }
  });
}
