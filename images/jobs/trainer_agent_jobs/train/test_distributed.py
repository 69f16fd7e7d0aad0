"""Data-parallel training under torchrun with two gloo processes on the CPU: each rank sees only its shard
of every batch, DistributedDataParallel averages the gradients, and together they take the very step one
process takes on the whole batch; only rank 0 writes checkpoints and progress; a SIGTERM one rank sees
stops both, and both resume from rank 0's checkpoint. The runner writes result.json on rank 0 only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import JOBS_DIR

pytestmark = pytest.mark.torch

ROWS, FEATURES, CLASSES = 37, 6, 3

# Runs under `torchrun --standalone --nproc_per_node=2`: one copy per rank.
WORKER = r'''
import json, os, sys
from pathlib import Path
import numpy as np
import torch

out = Path(sys.argv[1]); mode = sys.argv[2]
rank = int(os.environ["RANK"])
sys.stdout = open(out / f"stdout-{mode}-{rank}.txt", "w")  # progress lines of this rank

from trainer_agent_jobs.train import distributed
from trainer_agent_jobs.train.test_distributed import build, data, loop_config
from trainer_agent_jobs.train.torch_loop import Progress, StopRequested, TrainingLoop, soft_cross_entropy

world = distributed.init("cpu")
x, targets, weights = data()
module = build()

if mode == "gradients":
    # One backward through DDP on this rank's shard, next to the gradient of the shard alone.
    batch = np.arange(ROWS)
    local, keep = distributed.shard(batch, world)
    alone = build(); alone.load_state_dict(module.state_dict())
    loss = soft_cross_entropy(alone(torch.as_tensor(x[local])), torch.as_tensor(targets[local]), torch.as_tensor(weights[local] * keep), float(weights.sum()))
    loss.backward()
    net = distributed.wrap(module, torch.device("cpu"))
    loss = soft_cross_entropy(net(torch.as_tensor(x[local])), torch.as_tensor(targets[local]), torch.as_tensor(weights[local] * keep), float(weights.sum())) * world.size
    loss.backward()
    np.savez(out / f"gradients-{rank}.npz", local=np.concatenate([p.grad.numpy().ravel() for p in alone.parameters()]),
             averaged=np.concatenate([p.grad.numpy().ravel() for p in module.parameters()]))
else:
    saves = []
    real_save = torch.save
    torch.save = lambda obj, path, *a, **k: (saves.append(str(path)), real_save(obj, path, *a, **k))[1]

    class StopOnRankOne:
        """A SIGTERM only rank 1 receives, after its third step."""
        def __init__(self, progress): self.progress = progress
        @property
        def requested(self): return mode == "interrupted" and rank == 1 and self.progress.done >= 3

    progress = Progress(100)
    loop = TrainingLoop(module, lambda net, rows: net(torch.as_tensor(x[rows])), targets, weights, loop_config(),
                        torch.device("cpu"), out / "checkpoints", progress, StopOnRankOne(progress))
    try:
        outcome = loop.run()
        state = {"steps": outcome.steps, "resumed": outcome.resumed_from_step}
    except StopRequested:
        state = {"stopped": True}
    (out / f"saves-{mode}-{rank}.json").write_text(json.dumps(saves))
    (out / f"state-{mode}-{rank}.json").write_text(json.dumps(state))
    np.save(out / f"params-{mode}-{rank}.npy", np.concatenate([p.detach().numpy().ravel() for p in module.parameters()]))
    if state.get("stopped"):
        sys.exit(143)
distributed.shutdown()
'''.replace("ROWS", str(ROWS))


def build() -> Any:
    """A small network without batch statistics, the same on every rank (seeded)."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(FEATURES, 16), torch.nn.Tanh(), torch.nn.Linear(16, CLASSES))


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, soft targets and uneven row weights (class weights, pseudo-label weights)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    targets = np.eye(CLASSES, dtype=np.float32)[y]
    return x, targets, rng.uniform(0.5, 2.0, size=ROWS).astype(np.float32)


def loop_config() -> Any:
    """Batches of 8 (the last one 5 rows), two per optimizer step, a checkpoint every 2 steps."""
    from trainer_agent_jobs.train.torch_loop import LoopConfig

    return LoopConfig(epochs=3, batch_size=8, learning_rate=0.01, head_learning_rate=0.01, gradient_accumulation=2,
                      checkpoint_every=2, progress_every=1, seed=3)


def torchrun(out: Path, mode: str) -> subprocess.CompletedProcess[str]:
    script = out / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(JOBS_DIR), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script), str(out), mode],
                          cwd=JOBS_DIR, env=env, capture_output=True, text=True, timeout=600)


def single_process_params(out: Path) -> np.ndarray:
    """What one process reaches on the whole batches (the reference)."""
    import torch

    from trainer_agent_jobs.train.torch_loop import Progress, TerminationFlag, TrainingLoop

    x, targets, weights = data()
    module = build()
    TrainingLoop(module, lambda net, rows: net(torch.as_tensor(x[rows])), targets, weights, loop_config(),
                 torch.device("cpu"), out / "single-checkpoints", Progress(100), TerminationFlag()).run()
    return np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])


def test_two_gloo_processes_average_their_shards_gradients(tmp_path: Path) -> None:
    run = torchrun(tmp_path, "gradients")
    assert run.returncode == 0, run.stderr[-3000:]
    g0, g1 = (np.load(tmp_path / f"gradients-{r}.npz") for r in (0, 1))
    assert not np.allclose(g0["local"], g1["local"]), "the ranks saw different rows"
    # Each rank's gradient after the backward is the mean of both ranks' shard gradients (× world size,
    # as the loop scales its loss), i.e. the gradient of the whole batch.
    expected = g0["local"] + g1["local"]
    np.testing.assert_allclose(g0["averaged"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g1["averaged"], expected, rtol=1e-5, atol=1e-6)


def test_two_ranks_take_the_single_process_steps_and_only_rank_0_writes(tmp_path: Path) -> None:
    run = torchrun(tmp_path, "full")
    assert run.returncode == 0, run.stderr[-3000:]
    reference = single_process_params(tmp_path)
    p0, p1 = np.load(tmp_path / "params-full-0.npy"), np.load(tmp_path / "params-full-1.npy")
    print(f"DDP (2 gloo ranks) vs one process after {json.loads((tmp_path / 'state-full-0.json').read_text())['steps']} steps: "
          f"max |Δ parameter| = {np.abs(p0 - reference).max():.2e}")
    np.testing.assert_allclose(p0, p1, rtol=0, atol=0)  # the ranks hold the same weights
    np.testing.assert_allclose(p0, reference, rtol=1e-4, atol=1e-5)
    assert json.loads((tmp_path / "saves-full-0.json").read_text()), "rank 0 wrote checkpoints"
    assert json.loads((tmp_path / "saves-full-1.json").read_text()) == [], "rank 1 wrote nothing"
    progress0 = [json.loads(line) for line in (tmp_path / "stdout-full-0.txt").read_text().splitlines()]
    assert progress0 and all(e["event"] == "progress" for e in progress0)
    assert (tmp_path / "stdout-full-1.txt").read_text() == "", "only rank 0 reports progress"


def test_a_sigterm_on_one_rank_stops_both_and_both_resume_from_rank_0s_checkpoint(tmp_path: Path) -> None:
    interrupted = torchrun(tmp_path, "interrupted")
    assert interrupted.returncode != 0, "the workers exit 143 after the checkpoint"
    assert all(json.loads((tmp_path / f"state-interrupted-{r}.json").read_text()) == {"stopped": True} for r in (0, 1))
    assert json.loads((tmp_path / "saves-interrupted-1.json").read_text()) == []
    assert [Path(p).name for p in json.loads((tmp_path / "saves-interrupted-0.json").read_text())][-1] == "step-3.partial"
    resumed = torchrun(tmp_path, "full")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    states = [json.loads((tmp_path / f"state-full-{r}.json").read_text()) for r in (0, 1)]
    assert states[0] == states[1] and states[0]["resumed"] == 3
    np.testing.assert_allclose(np.load(tmp_path / "params-full-0.npy"), single_process_params(tmp_path), rtol=1e-4, atol=1e-5)


def test_the_runner_writes_results_on_rank_0_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer_agent_jobs.common import runner

    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    monkeypatch.setattr(runner.schemas, "validate", lambda *a: None)
    for rank, returned in (("1", None), ("0", ({"kind": "train"}, {"kind": "train"}))):
        monkeypatch.setenv("RANK", rank)
        out, log = tmp_path / f"out-{rank}", tmp_path / f"termination-{rank}"
        code = runner.main("train", lambda s, o, r=returned: r, ["--spec", str(spec), "--out", str(out), "--termination-log", str(log)])
        assert code == 0
        assert (out / "result.json").exists() == (rank == "0") and log.exists() == (rank == "0")
