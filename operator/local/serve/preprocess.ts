import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImagePreprocessing } from './repository.js';

/** A decoded image: RGBA bytes, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Largest decoded image accepted (pixels), so a small compressed file cannot exhaust memory. */
export const MAX_PIXELS = 40_000_000;

/** Raised for images that cannot be decoded; the server answers 400. */
export class ImageError extends Error {}

/** Decode base64 PNG or JPEG (a `data:` URL prefix is tolerated). */
export function decodeImage(base64: string): RgbaImage {
  const payload = base64.startsWith('data:') ? base64.slice(base64.indexOf(',') + 1) : base64;
  const bytes = Buffer.from(payload, 'base64');
  if (bytes.length === 0) throw new ImageError('empty image');
  try {
    if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      const png = PNG.sync.read(bytes);
      if (png.width * png.height > MAX_PIXELS) throw new ImageError('image too large');
      return { width: png.width, height: png.height, data: png.data };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`cannot decode image: ${(err as Error).message}`);
  }
  throw new ImageError('not a PNG or JPEG image (base64-encoded bytes expected)');
}

/** Pillow's `convert('L')`: ITU-R 601 luma in 16-bit fixed point, rounded. */
function luma(r: number, g: number, b: number): number {
  return Math.floor((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536);
}

const PRECISION_BITS = 32 - 8 - 2;
const clip8 = (x: number): number => (x <= 0 ? 0 : x >= 255 ? 255 : x);

/** Pillow's bilinear resampling coefficients for one axis (triangle filter, widened when shrinking). */
function coefficients(inSize: number, outSize: number): { bounds: Int32Array; weights: Float64Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const bounds = new Int32Array(outSize * 2);
  const weights: Float64Array[] = [];
  for (let xx = 0; xx < outSize; xx += 1) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = new Float64Array(xmax);
    let total = 0;
    for (let x = 0; x < xmax; x += 1) {
      const w = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
      k[x] = w;
      total += w;
    }
    // Pillow normalises, then rounds each weight to fixed point.
    for (let x = 0; x < xmax; x += 1) {
      const v = total !== 0 ? k[x]! / total : 0;
      k[x] = v < 0 ? Math.trunc(v * (1 << PRECISION_BITS) - 0.5) : Math.trunc(v * (1 << PRECISION_BITS) + 0.5);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
    weights.push(k);
  }
  return { bounds, weights };
}

/** One Pillow resampling pass over 8-bit planes (`c` interleaved channels), along x or y. */
function resamplePass(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number, horizontal: boolean): Uint8Array {
  const out = new Uint8Array(outW * outH * c);
  const { bounds, weights } = horizontal ? coefficients(w, outW) : coefficients(h, outH);
  for (let y = 0; y < outH; y += 1) {
    for (let x = 0; x < outW; x += 1) {
      const i = horizontal ? x : y;
      const min = bounds[i * 2]!;
      const k = weights[i]!;
      for (let ch = 0; ch < c; ch += 1) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let t = 0; t < k.length; t += 1) {
          const sx = horizontal ? min + t : x;
          const sy = horizontal ? y : min + t;
          ss += src[(sy * w + sx) * c + ch]! * k[t]!;
        }
        out[(y * outW + x) * c + ch] = clip8(Math.floor(ss / 2 ** PRECISION_BITS));
      }
    }
  }
  return out;
}

/** Pillow's `resize((width, height), BILINEAR)`: horizontal pass, then vertical, 8-bit in between. */
export function resizeLikePillow(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number): Uint8Array {
  let data = src;
  let width = w;
  if (outW !== w) { data = resamplePass(data, width, h, c, outW, h, true); width = outW; }
  if (outH !== h) data = resamplePass(data, width, h, c, width, outH, false);
  return data;
}

/**
 * RGBA image → one model row, as the train job prepares images with Pillow: `convert('L')` or RGB (alpha
 * dropped) → bilinear resize when the size differs → × scale → (x − mean) / std in float32 → HWC-flat or CHW.
 */
export function toModelRow(img: RgbaImage, spec: ImagePreprocessing): Float32Array {
  const c = spec.channels;
  const pixels = new Uint8Array(img.width * img.height * c);
  for (let p = 0; p < img.width * img.height; p += 1) {
    const r = img.data[p * 4]!;
    const g = img.data[p * 4 + 1]!;
    const b = img.data[p * 4 + 2]!;
    if (c === 1) pixels[p] = luma(r, g, b);
    else { pixels[p * 3] = r; pixels[p * 3 + 1] = g; pixels[p * 3 + 2] = b; }
  }
  const { height: outH, width: outW } = spec;
  const sized = img.width === outW && img.height === outH ? pixels : resizeLikePillow(pixels, img.width, img.height, c, outW, outH);
  const out = new Float32Array(outH * outW * c);
  const chw = spec.layout === 'chw' || spec.layout === 'nchw';
  const f = Math.fround;
  for (let y = 0; y < outH; y += 1) {
    for (let x = 0; x < outW; x += 1) {
      for (let ch = 0; ch < c; ch += 1) {
        const mean = f(spec.mean[spec.mean.length === 1 ? 0 : ch]!);
        const std = f(spec.std[spec.std.length === 1 ? 0 : ch]!);
        const v = f(f(f(sized[(y * outW + x) * c + ch]! * f(spec.scale)) - mean) / std);
        out[chw ? ch * outH * outW + y * outW + x : (y * outW + x) * c + ch] = v;
      }
    }
  }
  return out;
}
