"""The style-set data job: ``python -m trainer_agent_jobs.generation.data``.

Reads image folders (the style to learn; a ``test`` source is the held-out style set), gives every image
a caption (given, or written from its names), checks what a diffusion fine-tune cares about — images that
do not decode, resolutions below the training resolution, odd aspect ratios, exact and near duplicates,
caption coverage — holds out style images for FID, and writes ``train.jsonl`` and ``heldout.jsonl``.
"""
from __future__ import annotations

import hashlib
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common import events
from ..common.jsonl import write_jsonl
from ..common.runner import JobError, main
from ..common.versions import package_versions
from ..data.digest import data_digest
from ..data.sources import IMAGE_SUFFIXES, local_path
from .captions import Caption, caption_for, read_metadata

THUMBNAIL = 16
TRAIN_FILE, HELDOUT_FILE, CONTACT_SHEET = "train.jsonl", "heldout.jsonl", "style-set.png"
# Images much wider than tall (or the reverse) lose most of their content to the square crop.
EXTREME_ASPECT = 2.5


@dataclass(frozen=True)
class StyleImage:
    """One decodable image of the style set, its caption and what it measured."""

    path: Path
    source: str
    role: str
    width: int
    height: int
    caption: Caption
    pixels_sha256: str
    thumbnail: np.ndarray = field(compare=False, repr=False)

    def row(self) -> dict[str, Any]:
        return {"image": str(self.path), "caption": self.caption.text, "captionSource": self.caption.source,
                "width": self.width, "height": self.height, "source": self.source}


@dataclass
class Loaded:
    images: list[StyleImage] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def read_image(path: Path, source: str, role: str, caption: Caption) -> StyleImage:
    """Decode one image (raises on a broken file): size, pixel hash and a small grey thumbnail."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        rgb = image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()
    small = np.asarray(rgb.convert("L").resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR), dtype=np.float32).reshape(-1)
    small = small - small.mean()
    norm = float(np.linalg.norm(small))
    return StyleImage(path, source, role, rgb.width, rgb.height, caption, digest, small / norm if norm > 0 else small)


def load_sources(raw_sources: list[dict[str, Any]]) -> Loaded:
    """Every image of every image-folder source; broken files are counted, not fatal."""
    loaded = Loaded()
    for source in raw_sources:
        if source["format"] != "imagefolder":
            raise JobError(f"source {source['name']}: image generation learns from an image folder, not {source['format']}")
        if source.get("role", "train") not in ("train", "test", "eval"):
            raise JobError(f"source {source['name']}: role {source['role']} is not used for image generation (train or test)")
        root = local_path(source["uri"])
        if not root.is_dir():
            raise JobError(f"source {source['name']}: {root} is not a folder")
        metadata = read_metadata(root)
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        role = "test" if source.get("role") == "test" else "train"
        for path in files:
            try:
                loaded.images.append(read_image(path, source["name"], role, caption_for(path, root, metadata)))
            except Exception as error:  # noqa: BLE001 - any undecodable file is reported the same way
                loaded.invalid.append(f"{path.name}: {type(error).__name__}")
        events.log(f"Loaded {len(files)} image files from source {source['name']} ({role})")
    return loaded


def near_pairs(images: list[StyleImage], threshold: float) -> list[tuple[int, int]]:
    """Pairs (i < j) whose grey thumbnails correlate at ``threshold`` or more (resized or re-encoded copies)."""
    if len(images) < 2:
        return []
    matrix = np.stack([i.thumbnail for i in images])
    similarity = matrix @ matrix.T
    rows, cols = np.nonzero(np.triu(similarity >= threshold, k=1))
    return list(zip(rows.tolist(), cols.tolist()))


def deduplicate(images: list[StyleImage], threshold: float) -> tuple[list[StyleImage], dict[str, int]]:
    """Drop exact (same pixels) then near duplicates; held-out images win over training ones."""
    ordered = sorted(images, key=lambda i: i.role != "test")
    seen: set[str] = set()
    unique: list[StyleImage] = []
    exact = 0
    for image in ordered:
        if image.pixels_sha256 in seen:
            exact += 1
            continue
        seen.add(image.pixels_sha256)
        unique.append(image)
    dropped = {j for _, j in near_pairs(unique, threshold)}
    kept = [image for k, image in enumerate(unique) if k not in dropped]
    return kept, {"exact": exact, "near": len(dropped), "removed": exact + len(dropped)}


def hold_out(images: list[StyleImage], fraction: float, minimum: int, maximum: int, seed: int) -> tuple[list[StyleImage], list[StyleImage], dict[str, Any]]:
    """(train, held out, how): a given test source, else a seeded random share of the style set."""
    given = [i for i in images if i.role == "test"]
    train = [i for i in images if i.role != "test"]
    if given:
        return train, given, {"method": "given", "images": len(given), "reason": f"the test source holds {len(given)} style images"}
    wanted = min(maximum, max(minimum, round(fraction * len(train))))
    # The fine-tune needs images too: never hold out more than half of the set.
    count = min(wanted, len(train) // 2)
    shuffled = list(train)
    random.Random(seed).shuffle(shuffled)
    held = sorted(shuffled[:count], key=lambda i: str(i.path))
    rest = sorted(shuffled[count:], key=lambda i: str(i.path))
    reason = (f"{count} of {len(train)} style images held out at random (seed {seed}) to compare generated images with"
              if count >= 2 else f"only {len(train)} style images: too few to hold any out for FID")
    return rest, held if count >= 2 else [], {"method": "split", "images": count if count >= 2 else 0, "reason": reason}


def leakage(train: list[StyleImage], held: list[StyleImage], threshold: float) -> dict[str, int]:
    """Training images that duplicate a held-out one (exactly, or nearly)."""
    keys = {i.pixels_sha256 for i in held}
    exact = sum(1 for i in train if i.pixels_sha256 in keys)
    if not train or not held:
        return {"exact": exact, "near": 0}
    similarity = np.stack([i.thumbnail for i in train]) @ np.stack([i.thumbnail for i in held]).T
    near = int((similarity.max(axis=1) >= threshold).sum())
    return {"exact": exact, "near": max(0, near - exact)}


def distribution(values: list[int]) -> dict[str, float]:
    array = np.asarray(values or [0], dtype=np.float64)
    return {"min": float(array.min()), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "max": float(array.max()), "mean": round(float(array.mean()), 3)}


def profile(images: list[StyleImage], train: list[StyleImage], held: list[StyleImage], loaded: Loaded,
            duplicates: dict[str, int], leaks: dict[str, int], held_info: dict[str, Any], resolution: int) -> dict[str, Any]:
    """What the Data agent reads: counts, resolutions, duplicates, caption coverage, the held-out plan."""
    sizes = Counter(f"{i.width}x{i.height}" for i in images)
    sources = Counter(i.caption.source for i in images)
    short = [min(i.width, i.height) for i in images]
    aspects = [max(i.width, i.height) / max(1, min(i.width, i.height)) for i in images]
    given = sources["metadata"] + sources["sidecar"]
    return {
        "images": {"files": len(loaded.images) + len(loaded.invalid), "valid": len(loaded.images), "invalid": len(loaded.invalid),
                   "kept": len(images), "train": len(train), "heldOut": len(held)},
        "resolutions": dict(sizes.most_common(20)),
        "shortSide": distribution(short),
        "belowResolution": sum(1 for s in short if s < resolution),
        "extremeAspect": sum(1 for a in aspects if a > EXTREME_ASPECT),
        "trainingResolution": resolution,
        "duplicates": duplicates,
        "leakage": leaks,
        "captions": {
            "given": given, "fromMetadata": sources["metadata"], "fromSidecar": sources["sidecar"],
            "fromNames": sources["names"], "empty": sum(1 for i in images if not i.caption.text),
            "coverage": round(given / len(images), 4) if images else 0.0,
            "distinct": len({i.caption.text for i in images}),
            "examples": sorted({i.caption.text for i in images})[:5],
        },
        "heldOut": held_info,
    }


def warnings_for(p: dict[str, Any], invalid: list[str]) -> list[str]:
    out: list[str] = []
    if invalid:
        out.append(f"{len(invalid)} file(s) could not be decoded and were left out: {', '.join(invalid[:5])}")
    if p["belowResolution"]:
        out.append(f"{p['belowResolution']} image(s) are smaller than the {p['trainingResolution']} px training resolution and will be upscaled (softer results)")
    if p["extremeAspect"]:
        out.append(f"{p['extremeAspect']} image(s) are more than {EXTREME_ASPECT}:1; the square crop keeps only their centre")
    captions = p["captions"]
    if captions["fromNames"]:
        out.append(f"{captions['fromNames']} of {p['images']['kept']} captions were written from file and folder names; "
                   "captions that describe each image (metadata.jsonl or a .txt beside it) teach the style better")
    if p["images"]["kept"] and captions["distinct"] == 1:
        out.append("every image has the same caption: the model learns the style but not how prompts change it")
    return out


def contact_sheet(images: list[StyleImage], path: Path, tile: int = 96, columns: int = 6) -> None:
    """A grid of up to 24 training thumbnails, for the data report."""
    from PIL import Image

    shown = images[:24]
    if not shown:
        return
    rows = (len(shown) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile, rows * tile), "white")
    for k, item in enumerate(shown):
        with Image.open(item.path) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((tile, tile))
            sheet.paste(thumb, ((k % columns) * tile, (k // columns) * tile))
    sheet.save(path)


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load, caption, check, deduplicate, hold out, write; returns (result.json, termination summary)."""
    started = time.monotonic()
    seed = int(raw.get("seed", 0))
    resolution = int(raw["resolution"])
    threshold = float(raw.get("nearDuplicateThreshold", 0.98))
    held_spec = raw.get("heldOut", {})
    loaded = load_sources(raw["sources"])
    if not loaded.images:
        raise JobError(f"no decodable images in the sources ({len(loaded.invalid)} broken files)")
    images, duplicates = deduplicate(loaded.images, threshold)
    train, held, held_info = hold_out(images, float(held_spec.get("fraction", 0.2)), int(held_spec.get("minImages", 4)),
                                      int(held_spec.get("maxImages", 64)), seed)
    leaks = leakage(train, held, threshold)
    write_jsonl(out / TRAIN_FILE, (i.row() for i in train))
    write_jsonl(out / HELDOUT_FILE, (i.row() for i in held))
    contact_sheet(train, out / CONTACT_SHEET)
    measured = profile(images, train, held, loaded, duplicates, leaks, held_info, resolution)
    warnings = warnings_for(measured, loaded.invalid)
    for line in warnings:
        events.log(f"Warning: {line}")
    digest = data_digest([out / TRAIN_FILE, out / HELDOUT_FILE], out)
    result = {
        "kind": "generation-data", "digest": digest, "outDir": str(out),
        "files": {"train": TRAIN_FILE, "heldOut": HELDOUT_FILE, **({"contactSheet": CONTACT_SHEET} if (out / CONTACT_SHEET).is_file() else {})},
        "profile": measured, "warnings": warnings, "durationSeconds": round(time.monotonic() - started, 3),
        "seed": seed, "packageVersions": package_versions(),
    }
    summary = {"kind": "generation-data", "digest": digest, "images": measured["images"], "captions": measured["captions"]["coverage"]}
    return result, summary


if __name__ == "__main__":
    sys.exit(main("generation-data", run))
