"""The data job's spec as dataclasses, with the same defaults as agents/jobs/data-spec.ts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRE_SPLIT_OPERATIONS = ("clean", "dedupe")
OPERATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "clean": {"lowercase": False, "maxChars": None},
    "dedupe": {"near": True, "nearThreshold": 0.95},
    "label-errors": {"action": "correct", "folds": 5, "minCorrectionConfidence": 0.9, "minMargin": 0.5},
    "auto-label": {"teacherModelDir": None, "confidenceThreshold": 0.9},
    "augment": {"targetMinorityRatio": 0.5, "maxFactor": 2.0},
    "reduce": {"maxRows": None},
}


@dataclass(frozen=True)
class Source:
    """One input data set."""

    name: str
    uri: str
    format: str
    role: str = "train"
    text_column: str = "text"
    label_column: str = "label"


@dataclass(frozen=True)
class Operation:
    """One operation with its parameters (defaults filled in)."""

    op: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def before_split(self) -> bool:
        """clean and dedupe run on everything before the split; the others on the training split."""
        return self.op in PRE_SPLIT_OPERATIONS


@dataclass(frozen=True)
class DataSpec:
    """Everything the data job needs."""

    task: str
    modality: str
    sources: tuple[Source, ...]
    operations: tuple[Operation, ...] = ()
    test_fraction: float = 0.2
    min_holdout_rows: int = 300
    folds: int = 5
    seed: int = 0


def parse(raw: dict[str, Any]) -> DataSpec:
    """From the validated JSON (camelCase) to a :class:`DataSpec`."""
    sources = tuple(
        Source(
            name=s["name"], uri=s["uri"], format=s["format"], role=s.get("role", "train"),
            text_column=s.get("textColumn", "text"), label_column=s.get("labelColumn", "label"),
        )
        for s in raw["sources"]
    )
    operations = tuple(
        Operation(op["op"], {**OPERATION_DEFAULTS[op["op"]], **{k: v for k, v in op.items() if k != "op"}})
        for op in raw.get("operations", [])
    )
    return DataSpec(
        task=raw["task"], modality=raw["modality"], sources=sources, operations=operations,
        test_fraction=float(raw.get("testFraction", 0.2)), seed=int(raw.get("seed", 0)),
        min_holdout_rows=int(raw.get("evaluation", {}).get("minHoldoutRows", 300)),
        folds=int(raw.get("evaluation", {}).get("folds", 5)),
    )
