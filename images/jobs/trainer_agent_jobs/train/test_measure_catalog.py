"""The catalog's torch entries match what measure_catalog.py measures: sizes within 10% are asserted; times
(within ×3 on a quiet machine) are printed, not asserted, because they follow the machine's load."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO_ROOT, review_rows

pytestmark = pytest.mark.torch

CATALOG = REPO_ROOT / "agents" / "model" / "catalog.yaml"


def test_every_torch_catalog_entry_agrees_with_its_measurement() -> None:
    from trainer_agent_jobs.train.measure_catalog import disagreements, load_catalog, measure
    from trainer_agent_jobs.train.torch_env import select_device

    select_device("cpu")
    texts = [r["text"] for r in review_rows()]
    entries = [e for e in load_catalog(CATALOG) if e["framework"] == "torch"]
    assert {e["id"] for e in entries} >= {"text-minilm-frozen", "text-minilm-finetune", "text-minilm-l3-distilled", "image-cnn-small"}
    problems = []
    for entry in entries:
        measured = measure(entry, texts)
        print(measured.to_json())
        print("times (not asserted):", disagreements(entry, measured, times=True))
        problems += disagreements(entry, measured, times=False)
    assert problems == [], "run `python -m trainer_agent_jobs.train.measure_catalog --catalog agents/model/catalog.yaml --corpus <reviews.jsonl> --write`"


@pytest.mark.parametrize("name, stated, measured, problems", [
    ("sizes within 10% agree", {"approxParameters": 1050, "approxBytes": 950}, (1000, 1000), 0),
    ("a size 20% off is reported", {"approxParameters": 1200, "approxBytes": 1000}, (1000, 1000), 1),
])
def test_size_tolerance(name: str, stated: dict[str, int], measured: tuple[int, int], problems: int) -> None:
    from trainer_agent_jobs.train.measure_catalog import Measurement, disagreements

    entry = {"id": "x", "expectedLatencyMs": 1, "trainSecondsPerSample": 0.1, **stated}
    assert len(disagreements(entry, Measurement("x", measured[0], measured[1], 1.0, 0.1))) == problems


def test_writing_the_measurements_keeps_the_catalog_layout(tmp_path: Path) -> None:
    from trainer_agent_jobs.train.measure_catalog import Measurement, load_catalog, write_measurements

    copy = tmp_path / "catalog.yaml"
    copy.write_text(CATALOG.read_text())
    write_measurements(copy, [Measurement("image-cnn-small", 12345, 67890, 0.5, 0.001)])
    entry = next(e for e in load_catalog(copy) if e["id"] == "image-cnn-small")
    assert (entry["approxParameters"], entry["approxBytes"], entry["expectedLatencyMs"], entry["trainSecondsPerSample"]) == (12345, 67890, 0.5, 0.001)
    assert copy.read_text().count("\n") == CATALOG.read_text().count("\n")
