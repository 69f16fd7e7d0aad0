"""Minority-class oversampling with light, label-preserving perturbations."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ..common.records import Record


def perturb_text(text: str, rng: random.Random, drop: float = 0.1) -> str:
    """Drop about ``drop`` of the words (never all of them)."""
    words = text.split(" ")
    kept = [w for w in words if rng.random() >= drop]
    return " ".join(kept or words)


def perturb_image(path: str, rng: random.Random, out_dir: Path, name: str) -> str:
    """Shift by up to one pixel and rotate by up to 8 degrees; returns the new file's path."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as image:
        moved = image.rotate(rng.uniform(-8, 8), translate=(rng.randint(-1, 1), rng.randint(-1, 1)))
        target = out_dir / f"{name}.png"
        moved.save(target)
    return str(target.resolve())


def augment(
    records: Sequence[Record], target_ratio: float, max_factor: float, seed: int, image_dir: Path,
) -> list[Record]:
    """New rows for classes below ``target_ratio`` × the largest class, at most ``max_factor`` × their size."""
    rng = random.Random(seed)
    counts = Counter(r.label for r in records)
    if not counts:
        return []
    largest = max(counts.values())
    added: list[Record] = []
    for label, count in sorted(counts.items(), key=lambda kv: str(kv[0])):
        wanted = min(int(target_ratio * largest), int(max_factor * count)) - count
        pool = [r for r in records if r.label == label]
        for k in range(max(0, wanted)):
            base = pool[k % len(pool)]
            if base.text is not None:
                added.append(replace(base, text=perturb_text(base.text, rng), origin="augment"))
            else:
                path = perturb_image(base.image or "", rng, image_dir, f"aug-{label}-{k}")
                added.append(replace(base, image=path, origin="augment"))
    return added
