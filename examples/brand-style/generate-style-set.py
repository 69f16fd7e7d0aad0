"""Write a small GENERATED style set: "spring campaign" product posters (pastel gradients, a product
silhouette, flowers), one folder per product. The images are drawn by this script, not photographs of
a real campaign; they stand in for a brand's own images so the example runs without downloads.

    "$(bash images/jobs/scripts/ensure-venv.sh)/bin/python" examples/brand-style/generate-style-set.py [--out DIR] [--count N] [--size PX] [--captions]

Captions are left to the Data agent (it writes them from the folder and file names) unless
``--captions`` writes a metadata.jsonl with a caption per image.
"""
from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

PALETTES = {
    "pastel": [(250, 218, 221), (214, 234, 248), (255, 250, 205)],
    "mint": [(204, 241, 224), (255, 236, 214), (232, 222, 248)],
}
PRODUCTS = ("bottle", "jar", "box", "tube")
FLOWERS = ("tulips", "daisies", "blossoms")
PETAL = {"tulips": (235, 94, 122), "daisies": (255, 255, 255), "blossoms": (246, 170, 201)}


def gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / max(1, size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return image


def product(draw: ImageDraw.ImageDraw, kind: str, size: int, colour: tuple[int, int, int]) -> None:
    c, s = size / 2, size / 64
    if kind == "bottle":
        draw.rounded_rectangle([c - 9 * s, 24 * s, c + 9 * s, 54 * s], radius=5 * s, fill=colour)
        draw.rectangle([c - 3 * s, 14 * s, c + 3 * s, 24 * s], fill=colour)
    elif kind == "jar":
        draw.rounded_rectangle([c - 12 * s, 30 * s, c + 12 * s, 54 * s], radius=4 * s, fill=colour)
        draw.rectangle([c - 13 * s, 26 * s, c + 13 * s, 31 * s], fill=tuple(max(0, v - 40) for v in colour))
    elif kind == "box":
        draw.rectangle([c - 13 * s, 28 * s, c + 13 * s, 54 * s], fill=colour)
        draw.line([c - 13 * s, 36 * s, c + 13 * s, 36 * s], fill=(255, 255, 255), width=max(1, round(s)))
    else:
        draw.polygon([(c - 6 * s, 54 * s), (c + 6 * s, 54 * s), (c + 10 * s, 20 * s), (c - 10 * s, 20 * s)], fill=colour)


def flower(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, petal: tuple[int, int, int]) -> None:
    for k in range(5):
        a = 2 * math.pi * k / 5
        draw.ellipse([x + r * math.cos(a) - r * 0.6, y + r * math.sin(a) - r * 0.6, x + r * math.cos(a) + r * 0.6, y + r * math.sin(a) + r * 0.6], fill=petal)
    draw.ellipse([x - r * 0.45, y - r * 0.45, x + r * 0.45, y + r * 0.45], fill=(250, 200, 60))


def poster(rng: random.Random, size: int, palette: str, kind: str, flowers: str) -> Image.Image:
    top, bottom, accent = PALETTES[palette]
    image = gradient(size, top, bottom)
    draw = ImageDraw.Draw(image)
    # The campaign's diagonal band, then the product, then flowers around it.
    draw.polygon([(0, size * 0.75), (size, size * 0.45), (size, size * 0.6), (0, size * 0.9)], fill=accent)
    product(draw, kind, size, (rng.randint(90, 140), rng.randint(150, 190), rng.randint(170, 210)))
    for _ in range(rng.randint(3, 5)):
        flower(draw, rng.uniform(0.08, 0.92) * size, rng.uniform(0.08, 0.35) * size, size * rng.uniform(0.04, 0.07), PETAL[flowers])
    return image


def write_style_set(out: Path, count: int, size: int, seed: int, captions: bool) -> list[Path]:
    """``count`` posters under ``out/<product>/``; returns their paths."""
    rng = random.Random(seed)
    written: list[Path] = []
    metadata: list[dict[str, str]] = []
    for i in range(count):
        kind = PRODUCTS[i % len(PRODUCTS)]
        palette = "pastel" if (i // len(PRODUCTS)) % 2 == 0 else "mint"
        flowers = FLOWERS[(i // 2) % len(FLOWERS)]
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{palette}-{kind}-with-{flowers}-{i:03d}.png"
        poster(rng, size, palette, kind, flowers).save(path)
        written.append(path)
        metadata.append({"file_name": f"{kind}/{path.name}", "text": f"a {kind} on a {palette} spring poster with {flowers}"})
    if captions:
        (out / "metadata.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metadata))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", type=Path, default=here / "data" / "spring-campaign")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--captions", action="store_true", help="write metadata.jsonl with a caption per image")
    args = parser.parse_args()
    written = write_style_set(args.out, args.count, args.size, args.seed, args.captions)
    print(f"Wrote {len(written)} generated style images to {args.out}")


if __name__ == "__main__":
    main()
