import { chineseNumeral, findNumbers, normaliseChineseNumbers, toBytes, toMilliseconds } from './numbers.js';

describe('findNumbers', () => {
  it.each([
    { text: 'fewer than 10M parameters', value: 1e7, unit: 'parameters' },
    { text: 'a 1.5B model', value: 1.5e9, unit: 'magnitude' },
    { text: 'under 250 million parameters', value: 2.5e8, unit: 'parameters' },
    { text: '1,000 requests', value: 1000, unit: '' },
    { text: 'accuracy 90%', value: 90, unit: '%' },
    { text: '2GB containers', value: 2, unit: 'gb' },
    { text: '4 GiB', value: 4, unit: 'gib' },
    { text: '512Mi', value: 512, unit: 'mi' },
    { text: 'p99 of 100ms', value: 100, unit: 'ms' },
    { text: '60 qps', value: 60, unit: 'qps' },
  ])('reads "$text"', ({ text, value, unit }) => {
    const token = findNumbers(text).at(-1)!;
    expect(token.value).toBeCloseTo(value);
    expect(token.unit).toBe(unit);
  });

  it('does not read the 99 of "p99" as a number', () => {
    expect(findNumbers('p99 latency').map((t) => t.value)).toEqual([]);
  });
});

describe('units', () => {
  it.each([
    ['2GB', 2e9],
    ['8 GiB', 8 * 2 ** 30],
    ['512MB', 512e6],
    ['1 MB', 1e6],
    ['2Gi', 2 * 2 ** 30],
  ])('%s is %d bytes', (text, bytes) => expect(toBytes(findNumbers(text)[0]!)).toBe(bytes));

  it.each([
    ['100ms', 100],
    ['0.2 s', 200],
    ['500 microseconds', 0.5],
  ])('%s is %d ms', (text, ms) => expect(toMilliseconds(findNumbers(text)[0]!)).toBeCloseTo(ms));
});

describe('Chinese numbers', () => {
  it.each([
    ['九十五', 95],
    ['两百', 200],
    ['一千五百', 1500],
    ['三万', 30000],
    ['十', 10],
  ])('%s is %d', (text, value) => expect(chineseNumeral(text)).toBe(value));

  it.each([
    ['参数量不超过1000万', '10000000'],
    ['准确率百分之九十', '90%'],
    ['2亿参数', '200000000'],
  ])('rewrites %s', (text, expected) => expect(normaliseChineseNumbers(text)).toContain(expected));
});
