"""Shared plumbing: termination summaries and schema validation."""
from __future__ import annotations

import json

import pytest

from trainer_agent_jobs.common.schemas import SpecError, validate
from trainer_agent_jobs.common.termination import compact


def test_compact_summary_stays_under_4_kib_by_dropping_the_largest_fields() -> None:
    text = compact({"ok": True, "metrics": {"accuracy": 0.99}, "huge": "x" * 10000})
    assert len(text.encode()) <= 4096
    assert json.loads(text)["metrics"] == {"accuracy": 0.99} and json.loads(text)["truncated"] is True


@pytest.mark.parametrize("name, document, valid", [
    ("a minimal train spec", {"task": "text-classification", "modality": "text", "dataDir": "/d",
                              "model": {"id": "m", "family": "sklearn-naive-bayes"}}, True),
    ("a train spec without a model", {"task": "text-classification", "modality": "text", "dataDir": "/d"}, False),
    ("an objective with an unknown metric", {"task": "text-classification", "modality": "text", "dataDir": "/d",
                                             "model": {"id": "m", "family": "f"},
                                             "objectives": [{"metric": "vibes", "op": ">=", "value": 1}]}, False),
])
def test_train_spec_schema(name: str, document: dict, valid: bool) -> None:
    if valid:
        validate(document, "train-spec")
    else:
        with pytest.raises(SpecError):
            validate(document, "train-spec")
