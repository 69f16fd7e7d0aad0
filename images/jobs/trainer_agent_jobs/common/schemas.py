"""Locate and apply the JSON Schemas generated from the zod definitions (agents/jobs/registry.ts)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    """A job document does not match its schema."""


def schema_dirs() -> list[Path]:
    """Candidate directories, first match wins: $TRAINER_AGENT_SCHEMA_DIR, then images/jobs/schemas."""
    dirs: list[Path] = []
    env = os.environ.get("TRAINER_AGENT_SCHEMA_DIR")
    if env:
        dirs.append(Path(env))
    package = Path(__file__).resolve().parent.parent
    dirs += [package / "schemas", package.parent / "schemas"]
    return dirs


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``<name>.schema.json``; raises FileNotFoundError when no directory has it."""
    for directory in schema_dirs():
        path = directory / f"{name}.schema.json"
        if path.is_file():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"schema {name}.schema.json not found in {[str(d) for d in schema_dirs()]}")


def validate(document: Any, name: str) -> None:
    """Raise :class:`SpecError` naming the first offending field when ``document`` breaks schema ``name``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise SpecError(f"{name}: {where}: {first.message}"[:1000])
