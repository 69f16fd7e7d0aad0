"""Captions of a style set: given ones (a ``metadata.jsonl``, or a ``.txt`` file beside an image), else
written from the file and folder names.

``metadata.jsonl`` follows the Hugging Face image-folder convention: one object per line with
``file_name`` (relative to the folder holding the metadata file) and ``text`` (or ``caption``). A
sidecar ``<stem>.txt`` next to ``<stem>.png`` is the convention of most LoRA trainers. Names become
words: ``spring-campaign/pastel_bottle-03.png`` reads "spring campaign, pastel bottle".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..common.jsonl import JsonlError, iter_jsonl
from ..common.runner import JobError

METADATA_FILE = "metadata.jsonl"
CAPTION_KEYS = ("text", "caption", "prompt")
# Numbering and camera-style names carry no meaning: "03", "img", "IMG_0042", "dsc".
NOISE_WORD = re.compile(r"^(\d+|img|image|dsc|dscn|photo|pic|picture|copy|final|v\d+)$", re.IGNORECASE)
MAX_CAPTION_CHARS = 300


@dataclass(frozen=True)
class Caption:
    """A caption and where it came from: ``metadata``, ``sidecar`` or ``names``."""

    text: str
    source: str


def words_of(name: str) -> str:
    """The meaningful words of a file or folder name: separators to spaces, numbering dropped."""
    parts = re.split(r"[\s_\-.+]+", name)
    spaced: list[str] = []
    for part in parts:
        # camelCase → camel case
        spaced += re.sub(r"(?<=[a-z])(?=[A-Z])", " ", part).split()
    return " ".join(p.lower() for p in spaced if p and not NOISE_WORD.match(p))


def caption_from_names(image: Path, root: Path) -> str:
    """Folder words, then the file's own words: ``root/a/b/c-01.png`` → "a, b, c"."""
    relative = image.resolve().relative_to(root.resolve())
    pieces = [p for p in [words_of(p) for p in relative.parts[:-1]] + [words_of(relative.stem)] if p]
    # "bottle/pastel-bottle-03.png": the folder's words are already in the file's, say them once.
    kept = [p for i, p in enumerate(pieces) if not any(set(p.split()) <= set(q.split()) for q in pieces[i + 1:])]
    return ", ".join(kept)


def read_metadata(root: Path) -> dict[Path, str]:
    """Captions from every ``metadata.jsonl`` under ``root``, keyed by the resolved image path."""
    captions: dict[Path, str] = {}
    for metadata in sorted(root.rglob(METADATA_FILE)):
        try:
            for number, row in iter_jsonl(metadata):
                name = row.get("file_name")
                text = next((row[k] for k in CAPTION_KEYS if isinstance(row.get(k), str) and row[k].strip()), None)
                if not isinstance(name, str) or text is None:
                    raise JobError(f"{metadata}:{number}: needs \"file_name\" and one of {list(CAPTION_KEYS)}")
                path = (metadata.parent / name).resolve()
                if metadata.parent.resolve() not in path.parents:
                    raise JobError(f"{metadata}:{number}: file_name {name!r} leaves the folder")
                captions[path] = text
        except JsonlError as error:
            raise JobError(str(error)) from None
    return captions


def caption_for(image: Path, root: Path, metadata: dict[Path, str]) -> Caption:
    """The given caption (metadata first, then a sidecar file), else one written from the names."""
    resolved = image.resolve()
    if resolved in metadata:
        return Caption(tidy(metadata[resolved]), "metadata")
    sidecar = image.with_suffix(".txt")
    if sidecar.is_file():
        text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return Caption(tidy(text), "sidecar")
    return Caption(tidy(caption_from_names(image, root)), "names")


def tidy(text: str) -> str:
    """One line, single spaces, at most :data:`MAX_CAPTION_CHARS` characters."""
    return " ".join(text.split())[:MAX_CAPTION_CHARS]
