import { createHash } from 'node:crypto';

/** Stable JSON: object keys sorted, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** First `length` hex characters of the sha256 of the canonical JSON of `value`. */
export function contentHash(value: unknown, length = 10): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}

/**
 * A job's name: request name, stage and a hash of everything the job depends on (its spec, which
 * carries the data's content digest). Same inputs → same name, so a restart never duplicates work;
 * edited data → a new name, so it retrains. Fits a Kubernetes name (≤ 63 characters, or `maxLength`
 * for jobs whose engine appends to the name).
 */
export function jobName(request: string, stage: string, inputs: unknown, maxLength = 63): string {
  const suffix = `${stage}-${contentHash(inputs)}`;
  return `${request.slice(0, Math.max(1, maxLength - suffix.length - 1)).replace(/-+$/, '')}-${suffix}`;
}
