import { readFileSync } from 'node:fs';
import { load, YAMLException } from 'js-yaml';
import { z } from 'zod';
import { TrainingRequest } from '../api/training-request.js';

/** Every field name the TrainingRequest schema knows, for "did you mean" hints on unknown fields. */
function knownFieldNames(): string[] {
  const names = new Set<string>();
  const walk = (schema: unknown): void => {
    if (Array.isArray(schema)) return schema.forEach(walk);
    if (!schema || typeof schema !== 'object') return;
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && value && typeof value === 'object') Object.keys(value).forEach((k) => names.add(k));
      walk(value);
    }
  };
  walk(z.toJSONSchema(TrainingRequest, { io: 'input', unrepresentable: 'any' }));
  return [...names];
}

/** Edit distance (Levenshtein), small strings only. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diagonal = up;
    }
  }
  return row[b.length]!;
}

let known: string[] | undefined;

/** The known field closest to a misspelt one (at most two edits away), if any. */
export function suggestField(unknown: string): string | undefined {
  known ??= knownFieldNames();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(unknown, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** One line per problem, each with the path of the field (`spec.budget.maxAtempts: ...`). */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const hint = suggestField(key);
        return `${at ? `${at}.` : ''}${key}: unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`;
      });
    }
    return [`${at || '(root)'}: ${issue.message}`];
  });
}

/**
 * Read and validate a request file. YAML errors keep their line and column; schema errors list every
 * problem with the path of the field, unknown (misspelt) fields included, as `kubectl apply` with
 * strict field validation would.
 */
export function loadRequestFile(file: string): TrainingRequest {
  let raw: unknown;
  try {
    raw = load(readFileSync(file, 'utf8'), { filename: file });
  } catch (error) {
    if (error instanceof YAMLException) throw new Error(`${file} is not valid YAML: ${error.message}`);
    throw error;
  }
  const parsed = TrainingRequest.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${file} is not a valid TrainingRequest:\n${describeIssues(parsed.error).map((p) => `  ${p}`).join('\n')}`);
  }
  return parsed.data;
}
