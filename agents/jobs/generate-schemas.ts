import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { JOB_SCHEMAS } from './registry.js';

/** Where the generated schemas live: next to the Python job package that validates against them. */
export const SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../images/jobs/schemas');

/**
 * Render one zod schema as JSON Schema text. Input shape: fields with defaults are optional, because
 * the writers of specs (pipeline, users) may omit them and the Python side applies the same defaults.
 */
export function renderSchema(name: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return `${JSON.stringify({ $id: `https://traineragent.io/schemas/${name}.schema.json`, title: name, ...json }, null, 2)}\n`;
}

/** All schemas of the registry: file name → text. */
export function renderAll(registry: Record<string, z.ZodType> = JOB_SCHEMAS): Map<string, string> {
  return new Map(Object.entries(registry).map(([name, schema]) => [`${name}.schema.json`, renderSchema(name, schema)]));
}

/** File names whose committed text differs from what the zod schemas generate (missing counts). */
export function driftedSchemas(dir: string = SCHEMA_DIR): string[] {
  const drifted: string[] = [];
  for (const [file, text] of renderAll()) {
    let committed = '';
    try { committed = readFileSync(join(dir, file), 'utf8'); } catch { /* missing */ }
    if (committed !== text) drifted.push(file);
  }
  return drifted;
}

/** Write every schema into `dir`; returns the files written. */
export function writeAll(dir: string = SCHEMA_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, text] of renderAll()) {
    writeFileSync(join(dir, file), text);
    written.push(join(dir, file));
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const drifted = driftedSchemas();
    if (drifted.length) {
      process.stderr.write(`Schemas drifted from zod: ${drifted.join(', ')} (run npx tsx agents/jobs/generate-schemas.ts)\n`);
      process.exit(1);
    }
    process.stderr.write('Schemas match the zod definitions\n');
  } else {
    for (const file of writeAll()) process.stderr.write(`Wrote ${file}\n`);
  }
}
