"""The train job's spec as dataclasses, with the same defaults as agents/jobs/train-spec.ts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Objective:
    """metric op value, e.g. accuracy >= 0.9."""

    metric: str
    op: str
    value: float

    def met_by(self, measured: float | None) -> bool:
        """True when ``measured`` satisfies the objective."""
        if measured is None:
            return False
        return measured >= self.value if self.op == ">=" else measured <= self.value


@dataclass(frozen=True)
class Teacher:
    """Hierarchical mode: a trained model whose per-view predictions label the unlabelled rows."""

    model_dir: str
    confidence_threshold: float = 0.9
    max_rows: int | None = None
    temperature: float = 0.5


@dataclass(frozen=True)
class TrainSpec:
    """Everything the train job needs."""

    task: str
    modality: str
    data_dir: str
    model_id: str
    family: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    objectives: tuple[Objective, ...] = ()
    seed: int = 0
    teacher: Teacher | None = None
    learning_curve: bool = True


def parse(raw: dict[str, Any]) -> TrainSpec:
    """From the validated JSON (camelCase) to a :class:`TrainSpec`."""
    teacher = raw.get("teacher")
    return TrainSpec(
        task=raw["task"], modality=raw["modality"], data_dir=raw["dataDir"],
        model_id=raw["model"]["id"], family=raw["model"]["family"],
        hyperparameters=dict(raw["model"].get("hyperparameters", {})),
        objectives=tuple(Objective(o["metric"], o["op"], float(o["value"])) for o in raw.get("objectives", [])),
        seed=int(raw.get("seed", 0)),
        teacher=None if not teacher else Teacher(
            teacher["modelDir"], float(teacher.get("confidenceThreshold", 0.9)), teacher.get("maxRows"),
            float(teacher.get("temperature", 0.5))),
        learning_curve=bool(raw.get("learningCurve", True)),
    )
