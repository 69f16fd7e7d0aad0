import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DataSource, TrainingRequest } from '../api/training-request.js';
import { contentDigest } from '../local/sources.js';
import type { ObservedSource } from '../pipeline/types.js';
import type { ArtifactStore } from './artifacts.js';
import type { DataMount } from './builders/job.js';
import type { OperatorConfig } from './config.js';

/** What resolving sources needs from the cluster. */
export interface SourceAccess {
  readConfigMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  fetch?: typeof fetch;
}

/** Resolved sources and the extra PVCs the data job must mount. */
export interface ResolvedSources {
  sources: ObservedSource[];
  mounts: DataMount[];
}

/**
 * Resolve every data source to a path a job can read and a content digest:
 * `pvc://claim/path` (the artifacts claim itself, or another claim mounted read-only under
 * `dataMountPath`), `configmap://name/key` (copied onto the artifacts volume) and `https://`
 * (downloaded once onto the artifacts volume). `file:` is local mode only; `s3://` is not supported
 * by this backend yet.
 */
export async function resolveClusterSources(
  request: TrainingRequest,
  config: OperatorConfig,
  store: ArtifactStore,
  access: SourceAccess,
): Promise<ResolvedSources> {
  const { namespace, name } = request.metadata;
  const spec = request.spec;
  const root = store.root(namespace, name);
  const mounts: DataMount[] = [];
  const sources: ObservedSource[] = [];
  for (const source of spec.data ?? []) {
    try {
      sources.push(await resolveOne(source));
    } catch (error) {
      sources.push({ name: source.name, role: source.role, error: (error as Error).message });
    }
  }
  return { sources, mounts };

  async function resolveOne(source: DataSource): Promise<ObservedSource> {
    const base = { name: source.name, role: source.role };
    const uri = source.uri;
    if (uri.startsWith('pvc://')) {
      const [claim, ...rest] = uri.slice('pvc://'.length).split('/');
      const path = rest.join('/');
      if (!claim || !path) throw new Error(`${uri}: expected pvc://<claim>/<path>`);
      const sameAsArtifacts = claim === (spec.storage?.pvc?.claimName ?? config.artifacts.claimName) && !spec.storage?.pvc?.subPath;
      let location: string;
      if (sameAsArtifacts) {
        location = `${config.artifacts.mountPath}/${path}`;
      } else {
        const mountPath = `${config.dataMountPath}/${claim}`;
        if (!mounts.some((m) => m.claimName === claim)) mounts.push({ claimName: claim, mountPath });
        location = `${mountPath}/${path}`;
      }
      const local = sameAsArtifacts ? store.local(spec, location) : config.artifacts.localPaths[claim] && join(config.artifacts.localPaths[claim]!, path);
      if (!local) {
        // Without a view of the claim the digest can only name the location, not its content.
        return { ...base, location, digest: `uri:${createHash('sha256').update(uri).digest('hex')}` };
      }
      if (!existsSync(local)) throw new Error(`${uri} does not exist on claim ${claim}`);
      if (source.format === 'imagefolder' && !statSync(local).isDirectory()) throw new Error(`${uri} is not a folder`);
      return { ...base, location, digest: contentDigest(local) };
    }
    if (uri.startsWith('configmap://')) {
      const [cmName, key] = uri.slice('configmap://'.length).split('/');
      if (!cmName || !key) throw new Error(`${uri}: expected configmap://<name>/<key>`);
      const cm = await access.readConfigMap(namespace, cmName);
      if (!cm) throw new Error(`ConfigMap ${cmName} not found in ${namespace}`);
      const text = cm.data?.[key];
      const content = text !== undefined ? Buffer.from(text) : cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key]!, 'base64') : undefined;
      if (content === undefined) throw new Error(`ConfigMap ${cmName} has no key ${key}`);
      const location = `${root}/sources/${source.name}/${key}`;
      writeLocal(location, content);
      return { ...base, location, digest: `sha256:${createHash('sha256').update(content).digest('hex')}` };
    }
    if (uri.startsWith('https://')) {
      const location = `${root}/sources/${source.name}/${basename(new URL(uri).pathname) || 'data'}`;
      const local = store.local(spec, location);
      if (!local) throw new Error(`cannot download ${uri}: the operator has no mount of the artifacts storage`);
      if (!existsSync(local)) {
        const headers: Record<string, string> = {};
        if (source.credentialsSecretRef) {
          const token = await access.readSecretKey(namespace, source.credentialsSecretRef.name, source.credentialsSecretRef.key ?? 'token');
          if (token) headers['authorization'] = `Bearer ${token}`;
        }
        const response = await (access.fetch ?? fetch)(uri, { headers, redirect: 'follow' });
        if (!response.ok) throw new Error(`GET ${uri}: HTTP ${response.status}`);
        writeLocal(location, Buffer.from(await response.arrayBuffer()));
      }
      return { ...base, location, digest: contentDigest(local) };
    }
    if (uri.startsWith('s3://')) throw new Error(`${uri}: s3:// sources are not supported by the Kubernetes backend yet; copy the data to a PVC (pvc://) or serve it over https://`);
    throw new Error(`${uri}: file: URIs are for local mode; in a cluster use pvc://, configmap:// or https://`);
  }

  function writeLocal(location: string, content: Buffer): void {
    const local = store.local(spec, location);
    if (!local) throw new Error(`cannot stage ${location}: the operator has no mount of the artifacts storage`);
    mkdirSync(dirname(local), { recursive: true });
    const tmp = `${local}.${process.pid}.tmp`;
    writeFileSync(tmp, content);
    renameSync(tmp, local);
  }
}
