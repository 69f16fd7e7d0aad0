"""Reading box data users already have: COCO-style JSON (detection and grounding) and grounding JSON lines.

- ``format: coco`` — ``{"images": [{"id", "file_name", "width", "height"}], "annotations": [{"image_id",
  "bbox": [x, y, width, height], "category_id", "phrase"?}], "categories": [{"id", "name"}]}``. For
  detection each image is a row with all its boxes (an image without annotations is an empty row, a
  valid negative); for grounding each annotation is a row whose query is its ``phrase`` (or ``caption``,
  ``query``, ``text``) and, without one, its category's name.
- ``format: jsonl`` for grounding — ``{"image": "...", "query": "...", "box": [x1, y1, x2, y2]}`` per line
  (pixels; ``bbox`` as COCO's ``[x, y, width, height]`` is read too).

Image paths are relative to the file's folder (or absolute). Nothing bad is dropped silently: every
annotation that cannot be used is counted under a reason with examples (unknown image file, unreadable
image, box outside the image, degenerate box, ...); boxes partly outside the image are clipped to it
and counted. The data job fails, naming the reasons, when nothing usable is left.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.boxes import Box, BoxRow, area, clip, xywh_to_xyxy
from ..common.jsonl import JsonlError, iter_jsonl
from ..common.runner import JobError
from .sources import local_path
from .spec import Source

QUERY_KEYS = ("phrase", "caption", "query", "text")
MAX_EXAMPLES = 5

REASONS = {
    "missing-image": "unknown image file (not found)",
    "unreadable-image": "image file that is not a readable image",
    "box-outside-image": "box entirely outside its image",
    "degenerate-box": "box with no area (x2 <= x1 or y2 <= y1)",
    "malformed-box": "box that is not four numbers",
    "missing-query": "grounding row without a query",
    "unknown-category": "annotation whose category_id is not in categories",
    "unknown-image-id": "annotation whose image_id is not in images",
    "size-mismatch": "image whose declared width/height differ from the file (the file's size is used)",
}


@dataclass
class Problems:
    """Counts and short examples of what could not be used (or was repaired), by reason."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    clipped: int = 0
    lost: int = 0

    def add(self, reason: str, example: str, annotations: int = 1) -> None:
        """Count one problem; ``annotations`` is how many annotations it costs (0 for a warning or an image)."""
        self.counts[reason] += 1
        self.lost += annotations
        if len(self.examples[reason]) < MAX_EXAMPLES:
            self.examples[reason].append(example[:200])

    def merge(self, other: "Problems") -> None:
        for reason, n in other.counts.items():
            self.counts[reason] += n
            self.examples[reason] = (self.examples[reason] + other.examples[reason])[:MAX_EXAMPLES]
        self.clipped += other.clipped
        self.lost += other.lost

    def to_json(self) -> list[dict[str, Any]]:
        """For the data report: one entry per reason, most frequent first."""
        return [{"reason": reason, "description": REASONS.get(reason, reason), "count": n, "examples": self.examples[reason]}
                for reason, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def sentence(self) -> str:
        """The reasons in one line, for errors and warnings."""
        return "; ".join(f"{n} {REASONS.get(reason, reason)} (e.g. {', '.join(self.examples[reason][:2])})"
                         for reason, n in sorted(self.counts.items(), key=lambda kv: -kv[1]))


class ImageSizes:
    """Each image's size, read once from its header; None when the file is missing or not an image."""

    def __init__(self) -> None:
        self.sizes: dict[Path, tuple[int, int] | str] = {}

    def of(self, path: Path) -> tuple[int, int] | str:
        """``(width, height)``, or the reason it has none (``missing-image`` / ``unreadable-image``)."""
        if path not in self.sizes:
            if not path.is_file():
                self.sizes[path] = "missing-image"
            else:
                from PIL import Image, UnidentifiedImageError

                try:
                    with Image.open(path) as image:
                        self.sizes[path] = (int(image.width), int(image.height))
                except (UnidentifiedImageError, OSError):
                    self.sizes[path] = "unreadable-image"
        return self.sizes[path]


def _resolve_image(base: Path, name: Any) -> Path:
    path = Path(str(name))
    if path.is_absolute():
        return path
    direct = base / path
    # COCO releases keep file_name bare and the pictures in an images/ folder beside the JSON.
    return direct if direct.exists() or not (base / "images" / path).exists() else base / "images" / path


def checked_box(raw: Any, width: int, height: int, problems: Problems, example: str, xywh: bool) -> Box | None:
    """A usable box inside the image (clipped when it sticks out), or None with the reason recorded."""
    if not isinstance(raw, (list, tuple)) or len(raw) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        problems.add("malformed-box", f"{example}: {str(raw)[:60]}")
        return None
    box = xywh_to_xyxy(raw) if xywh else tuple(float(v) for v in raw)
    if box[2] <= box[0] or box[3] <= box[1]:
        hint = " (looks like [x, y, width, height]: give `box` as [x1, y1, x2, y2] or use `bbox`)" if not xywh and raw[2] > 0 and raw[3] > 0 else ""
        problems.add("degenerate-box", f"{example}: {list(raw)}{hint}")
        return None
    inside = clip(box, width, height)
    if area(inside) <= 0:
        problems.add("box-outside-image", f"{example}: {list(raw)} in a {width}x{height} image")
        return None
    if inside != box:
        problems.clipped += 1
    return inside  # type: ignore[return-value]


def read_grounding_jsonl(path: Path, source: Source, sizes: ImageSizes) -> tuple[list[BoxRow], Problems]:
    """Rows of ``{image, query, box}`` lines (``box`` in x1 y1 x2 y2 pixels, or ``bbox`` as x y w h)."""
    problems = Problems()
    rows: list[BoxRow] = []
    query_key = "query"
    try:
        lines = list(iter_jsonl(path))
    except JsonlError as error:
        raise JobError(f"source {source.name}: {error}") from None
    if lines and not any("image" in row for _, row in lines):
        raise JobError(f"source {source.name}: grounding lines need an \"image\" key (has {sorted(lines[0][1])[:20]}); "
                       "expected {\"image\": ..., \"query\": ..., \"box\": [x1, y1, x2, y2]}")
    for number, row in lines:
        example = f"{path.name}:{number}"
        image = _resolve_image(path.parent, row.get("image", ""))
        size = sizes.of(image)
        if isinstance(size, str):
            problems.add(size, f"{example}: {row.get('image')}")
            continue
        query = row.get(query_key, row.get(source.text_column))
        if not isinstance(query, str) or not query.strip():
            problems.add("missing-query", example)
            continue
        raw, xywh = (row["box"], False) if "box" in row else (row.get("bbox", row.get(source.label_column)), "bbox" in row)
        box = checked_box(raw, size[0], size[1], problems, example, bool(xywh))
        if box is None:
            continue
        rows.append(BoxRow(source.name, len(rows), str(image.resolve()), size[0], size[1], (box,), (), " ".join(query.split())))
    return rows, problems


def read_coco(path: Path, source: Source, sizes: ImageSizes, grounding: bool) -> tuple[list[BoxRow], Problems]:
    """A COCO-style JSON file: one row per image (detection) or per annotation (grounding)."""
    problems = Problems()
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise JobError(f"source {source.name}: {path} is not COCO-style JSON ({error})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or not isinstance(doc.get("annotations"), list):
        raise JobError(f"source {source.name}: {path} needs \"images\" and \"annotations\" lists (COCO style)")
    categories = {c.get("id"): str(c.get("name")) for c in doc.get("categories", []) if isinstance(c, dict)}
    images: dict[Any, tuple[Path, tuple[int, int]]] = {}
    for entry in doc["images"]:
        if not isinstance(entry, dict):
            continue
        file = _resolve_image(path.parent, entry.get("file_name", ""))
        size = sizes.of(file)
        if isinstance(size, str):
            problems.add(size, f"image {entry.get('id')}: {entry.get('file_name')}", annotations=0)
            images[entry.get("id")] = (file, (0, 0))
            continue
        declared = (entry.get("width"), entry.get("height"))
        if None not in declared and tuple(int(v) for v in declared) != size:
            problems.add("size-mismatch", f"{entry.get('file_name')}: declared {declared[0]}x{declared[1]}, file {size[0]}x{size[1]}", annotations=0)
        images[entry.get("id")] = (file, size)
    boxes: dict[Any, list[tuple[Box, str]]] = defaultdict(list)
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict):
            problems.add("malformed-box", f"annotation {i}")
            continue
        example = f"annotation {ann.get('id', i)}"
        if ann.get("image_id") not in images:
            problems.add("unknown-image-id", f"{example}: image_id {ann.get('image_id')}")
            continue
        file, size = images[ann["image_id"]]
        if size == (0, 0):  # its image was counted above; the annotation is lost with it
            problems.lost += 1
            continue
        phrase = next((ann[k] for k in QUERY_KEYS if isinstance(ann.get(k), str) and ann[k].strip()), None)
        if ann.get("category_id") not in categories and not (grounding and phrase):
            problems.add("unknown-category", f"{example}: category_id {ann.get('category_id')}")
            continue
        box = checked_box(ann.get("bbox"), size[0], size[1], problems, example, True)
        if box is None:
            continue
        boxes[ann["image_id"]].append((box, " ".join(str(phrase).split()) if grounding and phrase else categories[ann["category_id"]]))
    rows: list[BoxRow] = []
    for image_id, (file, size) in images.items():
        if size == (0, 0):
            continue
        found = boxes.get(image_id, [])
        if grounding:
            rows += [BoxRow(source.name, len(rows) + k, str(file.resolve()), size[0], size[1], (box,), (), query)
                     for k, (box, query) in enumerate(found)]
        else:
            rows.append(BoxRow(source.name, len(rows), str(file.resolve()), size[0], size[1],
                               tuple(b for b, _ in found), tuple(label for _, label in found)))
    return rows, problems


def load_box_source(source: Source, task: str, sizes: ImageSizes) -> tuple[list[BoxRow], Problems]:
    """All usable rows of one source for a box task, and what was not usable."""
    path = local_path(source.uri)
    if not path.is_file():
        raise JobError(f"source {source.name}: {path} does not exist or is not a file")
    grounding = task == "visual-grounding"
    if source.format == "coco":
        return read_coco(path, source, sizes, grounding)
    if source.format == "jsonl" and grounding:
        return read_grounding_jsonl(path, source, sizes)
    expected = "coco (COCO-style JSON) or jsonl ({image, query, box} lines)" if grounding else "coco (COCO-style JSON)"
    raise JobError(f"source {source.name}: {task} reads format {expected}, not {source.format}")
