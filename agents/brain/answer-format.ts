import { z } from 'zod';

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  description?: string;
  minimum?: number;
  maximum?: number;
};

function typeWords(s: JsonSchema): { words: string; nullable: boolean } {
  if (s.anyOf) {
    const parts = s.anyOf.filter((x) => x.type !== 'null').map((x) => typeWords(x).words);
    return { words: parts.join(' or '), nullable: s.anyOf.some((x) => x.type === 'null') };
  }
  if (Array.isArray(s.type) && s.type.includes('null')) {
    const rest = s.type.filter((t) => t !== 'null');
    return { words: rest.join(' or '), nullable: true };
  }
  if (s.enum) return { words: `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`, nullable: false };
  if (s.type === 'array') return { words: `a list of ${s.items ? (s.items.type === 'object' ? 'objects' : `${typeWords(s.items).words} values`) : 'values'}`, nullable: false };
  if (s.type === 'object') return { words: 'an object', nullable: false };
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? '-∞'}..${s.maximum ?? '∞'})` : '';
  return { words: `${Array.isArray(s.type) ? s.type.join('/') : s.type ?? 'a value'}${range}`, nullable: false };
}

function describeProperties(s: JsonSchema, indent: string, out: string[]): void {
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const { words, nullable } = typeWords(prop);
    const inner = prop.anyOf?.find((x) => x.type !== 'null') ?? prop;
    out.push(`${indent}- "${name}": ${words}${nullable ? ', or null when the text does not say' : ''}${prop.description ?? inner.description ? ` — ${prop.description ?? inner.description}` : ''}`);
    if (inner.type === 'object') describeProperties(inner, `${indent}  `, out);
    if (inner.type === 'array' && inner.items?.type === 'object') describeProperties(inner.items, `${indent}  `, out);
  }
}

function skeleton(s: JsonSchema): unknown {
  if (s.anyOf) return skeleton(s.anyOf.find((x) => x.type === 'null') ?? s.anyOf[0]!);
  if (s.enum) return s.enum[0];
  if (Array.isArray(s.type) && s.type.includes('null')) return null;
  switch (s.type) {
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, skeleton(v)]));
    case 'array':
      return [];
    case 'null':
      return null;
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    default:
      return '';
  }
}

/**
 * The answer format in words, for the prompt itself: every field with its type, allowed values and
 * units, plus the shape as JSON. Servers that do not enforce `response_format` (and small models
 * that ignore it) still see exactly what to write.
 */
export function describeAnswerFormat(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines: string[] = ['Answer with one JSON object and nothing else (no prose, no code fences). Its fields:'];
  describeProperties(json, '', lines);
  lines.push(`Shape: ${JSON.stringify(skeleton(json))}`);
  return lines.join('\n');
}

/**
 * The JSON object inside a model's answer: bare, fenced in ``` (with or without a language), or
 * between prose. Throws SyntaxError when there is none.
 */
export function extractJson(content: string): unknown {
  const trimmed = content.trim();
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(trimmed);
  const body = fenced ? fenced[1]!.trim() : trimmed;
  try {
    return JSON.parse(body);
  } catch {
    const start = body.indexOf('{');
    const end = body.lastIndexOf('}');
    if (start < 0 || end <= start) throw new SyntaxError('no JSON object in the answer');
    return JSON.parse(body.slice(start, end + 1));
  }
}
