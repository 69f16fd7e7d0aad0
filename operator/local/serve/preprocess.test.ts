import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { decodeImage, ImageError, toModelRow } from './preprocess.js';
import { jobPython, REPO_ROOT } from './python-fixture.js';
import type { ImagePreprocessing } from './repository.js';

const python = await jobPython();

function png(width: number, height: number, rgba: number[]): string {
  const img = new PNG({ width, height });
  img.data.set(rgba);
  return PNG.sync.write(img).toString('base64');
}

describe('toModelRow', () => {
  const spec = (over: Partial<ImagePreprocessing>): ImagePreprocessing =>
    ({ kind: 'image', height: 2, width: 2, channels: 1, mean: [0.5], std: [0.5], scale: 1 / 255, layout: 'hwc', ...over });
  it.each([
    { name: 'grey pixels at training size are scaled and normalised', channels: 1 as const, layout: 'hwc' as const,
      rgba: [0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255], expected: [-1, 1, 1, -1] },
    { name: 'colour is converted to luma like Pillow convert("L")', channels: 1 as const, layout: 'hwc' as const,
      rgba: [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0], expected: [76, 150, 29, 0].map((v) => (v / 255 - 0.5) / 0.5) },
    { name: 'CHW layout puts channels first', channels: 3 as const, layout: 'chw' as const,
      rgba: [255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255], expected: [1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1] },
  ])('$name', ({ channels, layout, rgba, expected }) => {
    const row = toModelRow(decodeImage(png(2, 2, rgba)), spec({ channels, layout, mean: [0.5], std: [0.5] }));
    expect(Array.from(row)).toEqual(expected.map((v) => expect.closeTo(v, 5)));
  });

  it.each([
    { name: 'empty', data: '' },
    { name: 'not an image', data: Buffer.from('hello world').toString('base64') },
    { name: 'a truncated PNG', data: png(2, 2, new Array(16).fill(9)).slice(0, 40) },
  ])('rejects $name data with an ImageError', ({ data }) => {
    expect(() => decodeImage(data)).toThrow(ImageError);
  });
});

(python ? describe : describe.skip)('toModelRow against the train job (Pillow)', () => {
  it.each([
    { name: 'colour 13×17 shrunk to 6×8 grey', h: 8, w: 6, c: 1 },
    { name: 'colour 13×17 enlarged to 20×30 RGB', h: 20, w: 30, c: 3 },
    { name: 'colour 13×17 shrunk to 5×4 RGB in CHW', h: 5, w: 4, c: 3, layout: 'nchw' },
  ])('$name', async ({ h, w, c, layout }) => {
    const spec = { kind: 'image' as const, height: h, width: w, channels: c as 1 | 3, mean: Array(c).fill(0.4), std: Array(c).fill(0.2),
      scale: 1 / 255, layout: (layout ?? 'flat-hwc') as ImagePreprocessing['layout'] };
    const code = `
import base64, io, json, sys
import numpy as np
from PIL import Image
from trainer_agent_jobs.convert.image_preprocessing import preprocess
rng = np.random.default_rng(7)
buf = io.BytesIO()
Image.fromarray(rng.integers(0, 256, (13, 17, 3), dtype=np.uint8), mode="RGB").save(buf, format="PNG")
spec = json.loads(sys.argv[1])
print(json.dumps({"b64": base64.b64encode(buf.getvalue()).decode(), "row": preprocess(buf.getvalue(), spec).reshape(-1).tolist()}))`;
    const { stdout } = await promisify(execFile)(python!, ['-c', code, JSON.stringify(spec)], {
      cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: `${REPO_ROOT}/images/jobs` } });
    const { b64, row } = JSON.parse(stdout) as { b64: string; row: number[] };
    const served = toModelRow(decodeImage(b64), spec);
    expect(served.length).toBe(row.length);
    // Pillow rounds in fixed point; allow one grey level where a rounding tie falls differently.
    const oneLevel = (1 / 255) / 0.2 + 1e-5;
    const worst = Math.max(...row.map((v, i) => Math.abs(v - served[i]!)));
    expect(worst).toBeLessThanOrEqual(oneLevel);
  });
});
