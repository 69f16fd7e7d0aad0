"""Content digest of the prepared data: the split files plus the bytes of every referenced image."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable


def data_digest(split_files: Iterable[Path], root: Path) -> str:
    """``sha256:<hex>`` over each split file's path (relative to ``root``) and bytes, and each image file
    it references."""
    digest = hashlib.sha256()
    for path in split_files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        data = path.read_bytes()
        digest.update(data)
        # JSON lines end at "\n" only: str.splitlines() would also cut at U+2028, U+0085 and other
        # characters that JSON keeps raw inside strings (real review texts have them).
        for line in data.decode("utf-8").split("\n"):
            image = json.loads(line).get("image") if line.strip() else None
            if image:
                digest.update(hashlib.sha256(Path(image).read_bytes()).digest())
    return "sha256:" + digest.hexdigest()
