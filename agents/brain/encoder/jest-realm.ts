import { runInThisContext } from 'node:vm';

const TYPED_ARRAYS = [
  'Float32Array', 'Float64Array', 'Float16Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
  'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
] as const;

/**
 * Jest runs tests in a separate realm, so onnxruntime's `instanceof Float32Array` checks reject the typed
 * arrays its native addon returns. Callers (the sentence encoder, the local server's model.ts) call this
 * before they import onnxruntime-node: the test realm then uses Node's own typed-array constructors.
 * Outside jest it changes nothing.
 */
export function shareTypedArraysWithNode(): void {
  const g = globalThis as Record<string, unknown>;
  for (const name of TYPED_ARRAYS) {
    const outer: unknown = runInThisContext(`typeof ${name} === 'undefined' ? undefined : ${name}`);
    if (outer !== undefined && g[name] !== outer) g[name] = outer;
  }
}
