/**
 * Numbers as people write them in requirements: "10M", "1.5B", "250 million", "1,000", "90%",
 * "2GB", "4GiB", "512Mi", "100ms", and Chinese forms ("1000万", "两百", "九十五").
 */

/** A number found in text, with where it stood and what followed it. */
export interface NumberToken {
  /** The value with magnitude words applied ("10M" → 1e7), percent not applied. */
  value: number;
  /** True when written with a percent sign or "percent". */
  percent: boolean;
  /** Unit right after the number, lower-cased ("ms", "gb", "gib", "qps", ...), or ''. */
  unit: string;
  /** Where the token starts and ends in the text it was found in. */
  start: number;
  end: number;
  /** The raw text of the token. */
  raw: string;
}

const MAGNITUDE: Record<string, number> = {
  k: 1e3, thousand: 1e3,
  m: 1e6, mn: 1e6, million: 1e6, millions: 1e6,
  b: 1e9, bn: 1e9, billion: 1e9, billions: 1e9,
  t: 1e12, trillion: 1e12,
};

/** Byte units: SI (GB = 1e9) and binary (GiB, and Kubernetes' Gi = 2^30). */
export const BYTE_UNITS: Record<string, number> = {
  b: 1, byte: 1, bytes: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
  ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40,
  k: 1e3, g: 1e9,
};

/** Time units in milliseconds. */
export const TIME_UNITS_MS: Record<string, number> = {
  ms: 1, msec: 1, msecs: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  us: 1e-3, 'µs': 1e-3, microsecond: 1e-3, microseconds: 1e-3,
  min: 60000, minute: 60000, minutes: 60000,
};

// Units we recognise right after a number. Longer alternatives first so "gib" beats "gi" beats "g".
const UNIT_PATTERN =
  '%|percent|pct|' +
  'milliseconds?|msecs?|ms|microseconds?|µs|us|seconds?|secs?|s|minutes?|min|' +
  'kib|mib|gib|tib|kb|mb|gb|tb|ki|mi|gi|ti|bytes?|' +
  'thousand|millions?|billions?|trillion|mn|bn|k|m|b|t|g|' +
  'qps|rps|tps|x';

// A number: 1,000,000 / 1.5 / .5 / 10 ; then optional space and a unit, not followed by a letter.
const NUMBER_RE = new RegExp(
  `(?<![\\w.])(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?|\\.\\d+)(?:\\s?(${UNIT_PATTERN})(?![a-z]))?`,
  'gi',
);

/** Every number in `text`, left to right, with its unit and magnitude applied. */
export function findNumbers(text: string): NumberToken[] {
  const out: NumberToken[] = [];
  for (const m of text.matchAll(NUMBER_RE)) {
    const digits = m[1]!;
    let unit = (m[2] ?? '').toLowerCase();
    let value = Number(digits.replace(/,/g, ''));
    if (!Number.isFinite(value)) continue;
    let percent = false;
    if (unit === '%' || unit === 'percent' || unit === 'pct') {
      percent = true;
      unit = '%';
    } else if (unit in MAGNITUDE) {
      // "10M parameters", "1.5B", "250 million": scale and keep looking for a unit after.
      value *= MAGNITUDE[unit]!;
      const rest = text.slice(m.index! + m[0].length);
      const after = /^\s?(qps|rps|parameters?|params?|requests?)/i.exec(rest);
      unit = after ? after[1]!.toLowerCase() : 'magnitude';
    }
    out.push({ value, percent, unit, start: m.index!, end: m.index! + m[0].length, raw: m[0] });
  }
  return out;
}

/** Bytes for a number token whose unit is a byte unit, else undefined. "2GB" → 2e9, "8 GiB" → 8·2^30. */
export function toBytes(token: NumberToken): number | undefined {
  const scale = BYTE_UNITS[token.unit];
  if (scale === undefined || token.unit === 'b' || token.unit === 'k') return undefined;
  return Math.round(token.value * scale);
}

/** Milliseconds for a number token whose unit is a time unit, else undefined. */
export function toMilliseconds(token: NumberToken): number | undefined {
  const scale = TIME_UNITS_MS[token.unit];
  return scale === undefined ? undefined : token.value * scale;
}

const ZH_DIGITS: Record<string, number> = {
  零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9,
};
const ZH_SMALL_UNITS: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };
const ZH_BIG_UNITS: Record<string, number> = { 万: 1e4, 亿: 1e8 };

/** Value of a Chinese numeral such as "九十五", "两百", "一千五百", "三万"; NaN when it is not one. */
export function chineseNumeral(text: string): number {
  let total = 0;
  let section = 0;
  let digit = 0;
  let seen = false;
  for (const ch of text) {
    if (ch in ZH_DIGITS) {
      digit = ZH_DIGITS[ch]!;
      seen = true;
    } else if (ch in ZH_SMALL_UNITS) {
      section += (digit || (seen ? 0 : 1) || 1) * ZH_SMALL_UNITS[ch]!;
      digit = 0;
      seen = true;
    } else if (ch in ZH_BIG_UNITS) {
      total += (section + digit) * ZH_BIG_UNITS[ch]!;
      section = 0;
      digit = 0;
      seen = true;
    } else {
      return Number.NaN;
    }
  }
  return seen ? total + section + digit : Number.NaN;
}

/**
 * Rewrite Chinese number forms into Arabic digits so one parser reads both languages:
 * "1000万" → "10000000", "2亿" → "200000000", "九十五" → "95", "百分之九十" → "90%".
 */
export function normaliseChineseNumbers(text: string): string {
  return text
    .replace(/百分之([零〇一二两三四五六七八九十百\d.]+)/g, (_m, n: string) => {
      const v = /^[\d.]+$/.test(n) ? Number(n) : chineseNumeral(n);
      return Number.isNaN(v) ? _m : `${v}%`;
    })
    .replace(/(\d+(?:\.\d+)?)\s*(万|亿)/g, (_m, n: string, u: string) => String(Number(n) * ZH_BIG_UNITS[u]!))
    .replace(/[零〇一二两三四五六七八九十百千万亿]{1,12}/g, (m) => {
      const v = chineseNumeral(m);
      // A lone "一"/"十" inside words (一个, 统一) is not a quantity worth rewriting unless it has a unit next.
      if (Number.isNaN(v) || (m.length === 1 && !/[十百千万亿]/.test(m))) return m;
      return ` ${v} `;
    });
}
