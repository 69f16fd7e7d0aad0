/**
 * A reader for protobuf text format (config.pbtxt), enough for Triton model configurations: messages
 * `{ ... }`, lists `[ ... ]`, strings, numbers, enum identifiers, `#` comments, optional `:` and
 * separators. Every field becomes an array of its values (fields repeat in text format), so a reader
 * of the result decides what is singular.
 */

/** A parsed message: field name → the values it was given, in order. */
export interface PbMessage {
  [field: string]: PbValue[];
}
/** A scalar (string, number, identifier such as TYPE_STRING or true) or a nested message. */
export type PbValue = string | number | boolean | PbMessage;

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; at: number };

/** A config.pbtxt that cannot be read, with the offset where reading stopped. */
export class PbtxtError extends Error {}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)[fF]?)|([A-Za-z_][A-Za-z0-9_.]*)|([{}[\]:,;<>])/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) throw new PbtxtError(`unexpected character ${JSON.stringify(text[at])} at offset ${at}`);
    if (m[1] !== undefined) tokens.push({ kind: 'string', text: m[1], at });
    else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2], at });
    else if (m[3] !== undefined) tokens.push({ kind: 'ident', text: m[3], at });
    else if (m[4] !== undefined) tokens.push({ kind: 'punct', text: m[4], at });
    at = pattern.lastIndex;
  }
  return tokens;
}

function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  return body.replace(/\\(["'\\nrt])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c);
}

/** Parse config.pbtxt text into nested {@link PbMessage}s. */
export function parsePbtxt(text: string): PbMessage {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const expect = (punct: string) => {
    const t = tokens[i];
    if (!t || t.kind !== 'punct' || t.text !== punct) throw new PbtxtError(`expected "${punct}" at offset ${t?.at ?? text.length}`);
    i += 1;
  };
  const scalar = (): PbValue => {
    const t = tokens[i];
    if (!t) throw new PbtxtError('unexpected end of text');
    i += 1;
    if (t.kind === 'string') return unquote(t.text);
    if (t.kind === 'number') return Number(t.text.replace(/[fF]$/, ''));
    if (t.kind === 'ident') return t.text === 'true' ? true : t.text === 'false' ? false : t.text;
    throw new PbtxtError(`expected a value at offset ${t.at}`);
  };
  const value = (): PbValue => {
    const t = peek();
    if (t?.kind === 'punct' && (t.text === '{' || t.text === '<')) {
      i += 1;
      const inner = message(t.text === '{' ? '}' : '>');
      expect(t.text === '{' ? '}' : '>');
      return inner;
    }
    return scalar();
  };
  const message = (end?: string): PbMessage => {
    const out: PbMessage = {};
    for (;;) {
      const t = peek();
      if (!t || (t.kind === 'punct' && t.text === end)) return out;
      if (t.kind === 'punct' && (t.text === ',' || t.text === ';')) { i += 1; continue; }
      if (t.kind !== 'ident') throw new PbtxtError(`expected a field name at offset ${t.at}`);
      i += 1;
      const field = t.text;
      if (peek()?.kind === 'punct' && peek()!.text === ':') i += 1;
      const values = (out[field] ??= []);
      if (peek()?.kind === 'punct' && peek()!.text === '[') {
        i += 1;
        while (!(peek()?.kind === 'punct' && peek()!.text === ']')) {
          if (!peek()) throw new PbtxtError('unterminated list');
          values.push(value());
          if (peek()?.kind === 'punct' && peek()!.text === ',') i += 1;
        }
        i += 1;
      } else {
        values.push(value());
      }
    }
  };
  const root = message();
  if (i < tokens.length) throw new PbtxtError(`unexpected "${tokens[i]!.text}" at offset ${tokens[i]!.at}`);
  return root;
}
