"""The LoRA loop resumes a run stopped by SIGTERM exactly where it was: same batches, same noise, same weights."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.torch


class StopAfter:
    """A TerminationFlag stand-in: asks the loop to stop once `progress.done` reaches `steps`."""

    def __init__(self, progress: Any, steps: int) -> None:
        self.progress, self.steps = progress, steps

    @property
    def requested(self) -> bool:
        return self.progress.done >= self.steps


def run_lora(tmp: Path, checkpoints: Path, stop_after: int | None) -> dict[str, Any]:
    import torch

    from trainer_agent_jobs.generation.loop import LoraConfig, lora_state, train_lora
    from trainer_agent_jobs.generation.models import build_tiny_pipeline
    from trainer_agent_jobs.train.torch_loop import Progress, TerminationFlag

    pipe = build_tiny_pipeline(0)
    images = torch.rand((6, 3, 32, 32), generator=torch.Generator().manual_seed(1)) * 2 - 1
    captions = ["a pastel bottle", "a mint jar", "a box", "a tube", "tulips", "daisies"]
    config = LoraConfig(steps=6, batch_size=3, learning_rate=1e-3, rank=4, alpha=4, checkpoint_every=100, seed=3)
    progress = Progress(config.steps)
    stop = StopAfter(progress, stop_after) if stop_after is not None else TerminationFlag()
    outcome = train_lora(pipe, images, captions, config, torch.device("cpu"), None, checkpoints, progress, stop)  # type: ignore[arg-type]
    return {"state": lora_state(pipe.unet), "outcome": outcome}


def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path: Path) -> None:
    import torch

    from trainer_agent_jobs.train.torch_loop import StopRequested, newest_checkpoint

    straight = run_lora(tmp_path, tmp_path / "straight", None)
    with pytest.raises(StopRequested):
        run_lora(tmp_path, tmp_path / "resumed", 3)
    assert newest_checkpoint(tmp_path / "resumed").name == "step-3.pt"
    resumed = run_lora(tmp_path, tmp_path / "resumed", None)
    assert resumed["outcome"].resumed_from_step == 3 and resumed["outcome"].steps == 6
    assert resumed["outcome"].losses == straight["outcome"].losses
    assert straight["state"].keys() == resumed["state"].keys()
    for key, value in straight["state"].items():
        assert torch.allclose(value, resumed["state"][key], atol=1e-6), key
