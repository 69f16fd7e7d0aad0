import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Brain } from '../../agents/brain/brain.js';
import { memoryFrom } from '../../agents/brain/memory.js';
import { understandRequest } from '../../agents/task/agent.js';
import { UsageError } from './args.js';

const BatchLine = z.object({ id: z.union([z.string(), z.number()]), text: z.string() });

/** Parse one requirement into a TaskSpec with the given brain, plus which brain answered and why. */
export async function parseOne(brain: Brain, text: string) {
  const understood = await understandRequest(brain, { requirement: text }, memoryFrom());
  return { ...understood.spec, brain: understood.record };
}

/**
 * `trainer-agent parse "<text>"` prints one TaskSpec; `--batch file.jsonl` prints one per line with
 * the same id. Every TaskSpec carries `brain`: which brain answered, why it fell back, how the
 * offline brain read the text. Exit 0 whatever the decisions; stdout carries only JSON.
 */
export async function parseCommand(brain: Brain, positionals: string[], batch: string | undefined, log: (line: string) => void): Promise<number> {
  if (batch) {
    const lines = readFileSync(batch, 'utf8').split('\n').filter((l) => l.trim());
    for (const [i, line] of lines.entries()) {
      const parsed = BatchLine.safeParse(safeJson(line));
      if (!parsed.success) {
        log(`Skipped line ${i + 1} of ${batch}: expected {"id","text"}`);
        continue;
      }
      const spec = await parseOne(brain, parsed.data.text);
      process.stdout.write(`${JSON.stringify({ id: parsed.data.id, ...spec })}\n`);
    }
    return 0;
  }
  const text = positionals.join(' ').trim();
  if (!text) throw new UsageError('parse needs a requirement in quotes, or --batch <file.jsonl>');
  process.stdout.write(`${JSON.stringify(await parseOne(brain, text), null, 2)}\n`);
  return 0;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
