"""Generate live-stream-like frames with named products on cluttered backgrounds (GENERATED data).

Nothing here is real: every frame is drawn with Pillow from a seeded random generator, so the data set
is the same on every machine and nothing is downloaded. Each frame shows 2-4 products from a small
catalogue (a coloured shape with a pattern and the product's name printed on it) over a cluttered
background (gradients, stripes, confetti shapes, other products' colours as decoys), the way a host holds
products up in a live stream. It writes, under --out:

- ``grounding/images/*.jpg`` and ``grounding/train.jsonl`` / ``grounding/test.jsonl``: one line per
  product in a frame, ``{"image": "images/f0001.jpg", "query": "<product name>", "box": [x1, y1, x2, y2]}``
  (pixels of that frame; the test file holds different frames from the training file);
- ``detection/images/*.jpg`` and ``detection/train.json`` / ``detection/test.json``: COCO-style JSON
  (``images``, ``annotations`` with ``bbox`` [x, y, width, height] and ``category_id``, ``categories``) of
  the same kind of frames, the category being the product's kind (mug, bottle, box, ...), with a few
  empty frames.

Run with the job environment's Python (numpy and Pillow):
    "$(bash images/jobs/scripts/ensure-venv.sh)/bin/python" examples/product-grounding/generate-data.py
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Product:
    """One catalogue item: its name, kind (the detection category), shape, colour and pattern."""

    name: str
    kind: str
    shape: str
    colour: tuple[int, int, int]
    pattern: str


CATALOGUE = [
    Product("red ceramic mug", "mug", "mug", (200, 40, 40), "solid"),
    Product("blue ceramic mug", "mug", "mug", (40, 70, 200), "dots"),
    Product("green tea tin", "tin", "tin", (40, 150, 60), "stripes"),
    Product("gold biscuit tin", "tin", "tin", (210, 170, 40), "dots"),
    Product("purple perfume bottle", "bottle", "bottle", (130, 50, 170), "solid"),
    Product("cyan water bottle", "bottle", "bottle", (40, 190, 200), "stripes"),
    Product("orange juice carton", "box", "box", (240, 130, 20), "stripes"),
    Product("white sneaker box", "box", "box", (235, 235, 235), "solid"),
    Product("yellow rubber duck", "toy", "duck", (245, 220, 30), "solid"),
    Product("pink plush bear", "toy", "bear", (240, 130, 180), "dots"),
    Product("black headphones", "headphones", "headphones", (30, 30, 30), "solid"),
    Product("silver headphones", "headphones", "headphones", (170, 170, 180), "stripes"),
]


def darker(colour: tuple[int, int, int], factor: float = 0.6) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)  # type: ignore[return-value]


def background(rng: random.Random, width: int, height: int) -> Image.Image:
    """A cluttered backdrop: a two-colour gradient, stripes, confetti shapes and decoy colour patches."""
    a = [rng.randint(40, 220) for _ in range(3)]
    b = [rng.randint(40, 220) for _ in range(3)]
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a[i] * (1 - t) + b[i] * t) for i in range(3)))
    for _ in range(rng.randint(2, 6)):  # shelves, table edges, banners
        y = rng.randint(0, height)
        draw.rectangle([0, y, width, y + rng.randint(2, 10)], fill=tuple(rng.randint(0, 255) for _ in range(3)))
    for _ in range(rng.randint(25, 60)):  # confetti and clutter
        x, y, r = rng.randint(0, width), rng.randint(0, height), rng.randint(2, 9)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.line([(x, y), (x + rng.randint(-20, 20), y + rng.randint(-20, 20))], fill=colour, width=rng.randint(1, 3))
    for _ in range(rng.randint(1, 3)):  # decoys: a catalogue colour in the wrong shape
        decoy = rng.choice(CATALOGUE)
        x, y, s = rng.randint(0, width), rng.randint(0, height), rng.randint(6, 14)
        draw.rectangle([x, y, x + s, y + s // 2], fill=decoy.colour)
    return image


def draw_product(draw: ImageDraw.ImageDraw, product: Product, box: tuple[int, int, int, int], font: ImageFont.ImageFont) -> None:
    """Draw the product so that it fills ``box`` (x1, y1, x2, y2) exactly."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    c, edge = product.colour, darker(product.colour)
    if product.shape == "mug":
        draw.rectangle([x1, y1, x1 + int(w * 0.75), y2], fill=c, outline=edge, width=2)
        draw.ellipse([x1 + int(w * 0.6), y1 + h // 4, x2, y1 + 3 * h // 4], outline=c, width=max(2, w // 10))
    elif product.shape == "tin":
        draw.rounded_rectangle([x1, y1, x2, y2], radius=max(2, w // 5), fill=c, outline=edge, width=2)
        draw.rectangle([x1, y1, x2, y1 + max(2, h // 8)], fill=edge)
    elif product.shape == "bottle":
        neck = max(3, w // 3)
        draw.rectangle([x1 + (w - neck) // 2, y1, x1 + (w + neck) // 2, y1 + h // 3], fill=edge)
        draw.rounded_rectangle([x1, y1 + h // 4, x2, y2], radius=max(2, w // 4), fill=c, outline=edge, width=2)
    elif product.shape == "box":
        draw.rectangle([x1, y1, x2, y2], fill=c, outline=edge, width=2)
        draw.line([(x1, y1 + h // 3), (x2, y1 + h // 3)], fill=edge, width=2)
    elif product.shape == "duck":
        draw.ellipse([x1, y1 + h // 3, x2, y2], fill=c, outline=edge)
        draw.ellipse([x1 + w // 2, y1, x2, y1 + h // 2], fill=c, outline=edge)
        draw.polygon([(x2, y1 + h // 4), (x2, y1 + h // 3), (x2 - w // 8, y1 + h // 3)], fill=(240, 120, 20))
    elif product.shape == "bear":
        r = max(3, w // 5)
        draw.ellipse([x1, y1, x1 + 2 * r, y1 + 2 * r], fill=c)
        draw.ellipse([x2 - 2 * r, y1, x2, y1 + 2 * r], fill=c)
        draw.ellipse([x1 + w // 8, y1 + r, x2 - w // 8, y2], fill=c, outline=edge)
    else:  # headphones
        band = max(3, w // 8)
        draw.arc([x1, y1, x2, y1 + h], start=180, end=360, fill=c, width=band)
        draw.rounded_rectangle([x1, y1 + h // 2, x1 + w // 3, y2], radius=3, fill=c, outline=edge)
        draw.rounded_rectangle([x2 - w // 3, y1 + h // 2, x2, y2], radius=3, fill=c, outline=edge)
    if product.pattern == "stripes":
        for k in range(1, 4):
            y = y1 + k * h // 4
            draw.line([(x1 + w // 6, y), (x2 - w // 6, y)], fill=edge, width=1)
    elif product.pattern == "dots":
        for k in range(3):
            cx, cy = x1 + (k + 1) * w // 4, y1 + 2 * h // 3
            draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(255, 255, 255))
    label = product.name.split()[-1][:6]  # the name printed on the pack, as hosts hold it to the camera
    draw.text((x1 + 2, y1 + h // 2 - 4), label, fill=(255, 255, 255) if sum(c) < 380 else (0, 0, 0), font=font)


def place(rng: random.Random, width: int, height: int, count: int) -> list[tuple[int, int, int, int]]:
    """Up to ``count`` boxes that do not overlap, each 18-38% of the frame's shorter side and a plausible aspect."""
    boxes: list[tuple[int, int, int, int]] = []
    short = min(width, height)
    for _ in range(200):
        if len(boxes) == count:
            break
        w = int(short * rng.uniform(0.18, 0.38))
        h = int(w * rng.uniform(0.8, 1.4))
        x, y = rng.randint(0, width - w - 1), rng.randint(0, height - h - 1)
        candidate = (x, y, x + w, y + h)
        if all(candidate[2] + 4 < b[0] or b[2] + 4 < candidate[0] or candidate[3] + 4 < b[1] or b[3] + 4 < candidate[1] for b in boxes):
            boxes.append(candidate)
    return boxes


def frame(rng: random.Random, size: tuple[int, int], count: int, font: ImageFont.ImageFont) -> tuple[Image.Image, list[tuple[Product, tuple[int, int, int, int]]]]:
    """One frame with ``count`` distinct products (fewer when they do not fit)."""
    width, height = size
    image = background(rng, width, height)
    draw = ImageDraw.Draw(image)
    products = rng.sample(CATALOGUE, count)
    placed = list(zip(products, place(rng, width, height, count)))
    for product, box in placed:
        draw_product(draw, product, box, font)
    return image, placed


def frame_size(rng: random.Random, base: tuple[int, int]) -> tuple[int, int]:
    """Frames vary in size around the base (cameras and crops differ), so boxes are in each frame's pixels."""
    scale = rng.uniform(0.8, 1.25)
    return max(64, int(base[0] * scale)), max(64, int(base[1] * scale))


def write_grounding(out: Path, rng: random.Random, frames: int, test_frames: int, base: tuple[int, int], font: ImageFont.ImageFont,
                    suffix: str = "jpg") -> dict[str, int]:
    """Frames with 2-4 products; one JSON line per product (its name is the query)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "test": 0}
    handles = {split: (out / f"{split}.jsonl").open("w") for split in counts}
    for i in range(frames + test_frames):
        split = "test" if i >= frames else "train"
        image, placed = frame(rng, frame_size(rng, base), rng.randint(2, 4), font)
        name = f"images/f{i:05d}.{suffix}"
        image.save(out / name, **({"quality": 90} if suffix == "jpg" else {}))
        for product, box in placed:
            handles[split].write(json.dumps({"image": name, "query": product.name, "box": list(box)}) + "\n")
            counts[split] += 1
    for handle in handles.values():
        handle.close()
    return counts


def write_detection(out: Path, rng: random.Random, frames: int, test_frames: int, base: tuple[int, int], font: ImageFont.ImageFont,
                    suffix: str = "jpg") -> dict[str, int]:
    """COCO-style JSON per split; about one frame in twelve is empty (a frame between products)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    kinds = sorted({p.kind for p in CATALOGUE})
    categories = [{"id": i + 1, "name": kind} for i, kind in enumerate(kinds)]
    ids = {kind: i + 1 for i, kind in enumerate(kinds)}
    docs = {split: {"images": [], "annotations": [], "categories": categories} for split in ("train", "test")}
    for i in range(frames + test_frames):
        split = "test" if i >= frames else "train"
        size = frame_size(rng, base)
        count = 0 if rng.random() < 1 / 12 else rng.randint(1, 4)
        image, placed = frame(rng, size, count, font)
        name = f"images/d{i:05d}.{suffix}"
        image.save(out / name, **({"quality": 90} if suffix == "jpg" else {}))
        doc = docs[split]
        doc["images"].append({"id": i + 1, "file_name": name, "width": size[0], "height": size[1]})
        for product, (x1, y1, x2, y2) in placed:
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": i + 1, "category_id": ids[product.kind],
                                       "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    for split, doc in docs.items():
        (out / f"{split}.json").write_text(json.dumps(doc) + "\n")
    return {split: len(doc["annotations"]) for split, doc in docs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--frames", type=int, default=360, help="training frames per task")
    parser.add_argument("--test-frames", type=int, default=120, help="held-out frames per task")
    parser.add_argument("--size", default="320x240", help="base frame size WxH (each frame varies around it)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["grounding", "detection"], default=None)
    parser.add_argument("--format", choices=["jpg", "png"], default="jpg", help="png: lossless, for exact serving parity checks")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    font = ImageFont.load_default()
    if args.only in (None, "grounding"):
        counts = write_grounding(args.out / "grounding", random.Random(args.seed), args.frames, args.test_frames, (width, height), font, args.format)
        print(f"Wrote {args.frames + args.test_frames} generated grounding frames to {args.out / 'grounding'}: {counts}")
    if args.only in (None, "detection"):
        counts = write_detection(args.out / "detection", random.Random(args.seed + 1), args.frames, args.test_frames, (width, height), font, args.format)
        print(f"Wrote {args.frames + args.test_frames} generated detection frames to {args.out / 'detection'}: {counts} boxes")


if __name__ == "__main__":
    main()
