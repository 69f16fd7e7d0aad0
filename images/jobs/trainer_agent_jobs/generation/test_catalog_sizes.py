"""The catalog's image generation entries state the generator's size as measured: SD 1.5 built on the meta
device from its configs (nothing downloaded, no memory), the tiny one built and saved."""
from __future__ import annotations

import pytest

from conftest import REPO_ROOT

pytestmark = pytest.mark.torch

CATALOG = REPO_ROOT / "agents" / "model" / "catalog.yaml"
TOLERANCE = 0.10


def test_every_image_generation_entry_states_its_measured_size() -> None:
    from trainer_agent_jobs.generation.measure import generator_size
    from trainer_agent_jobs.train.measure_catalog import load_catalog

    entries = [e for e in load_catalog(CATALOG) if "image-generation" in e["tasks"]]
    assert {e["id"] for e in entries} == {"sd15-style-lora", "diffusion-tiny-lora"}
    for entry in entries:
        parameters, size = generator_size(entry)
        print(entry["id"], parameters, size)
        assert abs(entry["approxParameters"] - parameters) <= TOLERANCE * parameters, entry["id"]
        assert abs(entry["approxBytes"] - size) <= TOLERANCE * size, entry["id"]
