"""The Data agent's perception of box data: sizes and positions of boxes, classes per image, empty images,
what was unusable, with plots."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

from ..common.boxes import BoxRow, area
from .box_sources import Problems
from .plots import _save, class_balance, plt
from .profile import distribution

TOP_QUERIES = 10


def per_image(rows: Sequence[BoxRow]) -> dict[str, list[BoxRow]]:
    """Rows grouped by image path."""
    grouped: dict[str, list[BoxRow]] = defaultdict(list)
    for row in rows:
        grouped[row.image].append(row)
    return grouped


def box_class_table(train: Sequence[BoxRow], test: Sequence[BoxRow]) -> list[dict[str, Any]]:
    """Boxes per detection category in train and test (grounding has no classes: its queries are free text)."""
    count = lambda rows: Counter(label for r in rows for label in r.labels)  # noqa: E731
    tr, te = count(train), count(test)
    return [{"label": label, "train": tr.get(label, 0), "test": te.get(label, 0)} for label in sorted(set(tr) | set(te))]


def box_profile(rows: Sequence[BoxRow], problems: Problems, grounding: bool) -> dict[str, Any]:
    """``profile.boxes``: images, annotations, boxes and distinct classes (queries) per image, box sizes
    (pixels, share of the image, aspect), empty images, clipped and dropped boxes, and the problems."""
    images = per_image(rows)
    boxes = [(b, r) for r in rows for b in (r.boxes if not grounding else r.boxes[:1])]
    if grounding:
        # One row per query: the image's boxes are those of all its rows.
        per = [len(group) for group in images.values()]
        kinds = [len({r.query for r in group}) for group in images.values()]
    else:
        per = [len(r.boxes) for r in rows]
        kinds = [len(set(r.labels)) for r in rows]
    profile: dict[str, Any] = {
        "task": "grounding" if grounding else "detection",
        "images": len(images),
        "annotations": len(boxes),
        "emptyImages": sum(1 for n in per if n == 0),
        "perImage": distribution(per),
        "classesPerImage": distribution(kinds),
        "widthPx": distribution([b[2] - b[0] for b, _ in boxes]),
        "heightPx": distribution([b[3] - b[1] for b, _ in boxes]),
        "relativeArea": distribution([area(b) / max(1, r.width * r.height) for b, r in boxes]),
        "aspectRatio": distribution([(b[2] - b[0]) / max(1e-6, b[3] - b[1]) for b, _ in boxes]),
        "clipped": problems.clipped,
        "dropped": problems.lost,
        "problems": problems.to_json(),
    }
    if grounding:
        counts = Counter(r.query for r in rows)
        profile["queries"] = {"distinct": len(counts), "top": [{"query": q, "count": n} for q, n in counts.most_common(TOP_QUERIES)]}
    return profile


def box_plots(rows: Sequence[BoxRow], classes: list[dict[str, Any]], profile: dict[str, Any], out: Path) -> list[Path]:
    """Box sizes, boxes per image, where box centres fall (share of width/height), class balance (detection)."""
    boxes = [(b, r) for r in rows for b in r.boxes]
    written = []
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.hist([area(b) / max(1, r.width * r.height) for b, r in boxes] or [0], bins=40)
    axis.set_title("Box area / image area")
    written.append(_save(figure, out / "box-sizes.png"))
    figure, axis = plt.subplots(figsize=(5, 3))
    counts = [len(group) for group in per_image(rows).values()] if profile["task"] == "grounding" else [len(r.boxes) for r in rows]
    axis.hist(counts or [0], bins=range(0, max(counts or [0]) + 2), align="left")
    axis.set_title("Boxes (queries) per image" if profile["task"] == "grounding" else "Boxes per image")
    written.append(_save(figure, out / "boxes-per-image.png"))
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.scatter([(b[0] + b[2]) / 2 / r.width for b, r in boxes], [(b[1] + b[3]) / 2 / r.height for b, r in boxes], s=4, alpha=0.4)
    axis.set_xlim(0, 1)
    axis.set_ylim(1, 0)
    axis.set_title("Box centres (share of width, height)")
    written.append(_save(figure, out / "box-centres.png"))
    if classes:
        written.append(class_balance(classes, out / "class-balance.png"))
    return written
