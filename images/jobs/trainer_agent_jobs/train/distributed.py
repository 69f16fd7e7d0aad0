"""Data-parallel training across processes: who this process is, and the few collectives the loop needs.

A train job runs as one process (``python -m trainer_agent_jobs.train``) or as several under ``torchrun``
(``torchrun --nproc_per_node=N -m trainer_agent_jobs.train ...``), which sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` for every worker and reads ``PET_NNODES``, ``PET_NPROC_PER_NODE``, ``PET_NODE_RANK``,
``PET_MASTER_ADDR`` and ``PET_MASTER_PORT`` (what Kubeflow Trainer injects, and what the operator's Indexed
Job sets) as the defaults of its flags. Every rank trains on its shard of each batch with
``DistributedDataParallel`` (NCCL on GPUs, gloo on CPUs), which averages the gradients; only rank 0 writes
checkpoints, progress, predictions, the model and ``result.json``.

Without ``WORLD_SIZE`` > 1 nothing here touches ``torch.distributed``: a single process behaves exactly as
before.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ContextManager, Sequence

import numpy as np

# How long a rank waits for the others (rendezvous, a slow rank's epoch, a checkpoint on a shared volume).
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def primary(self) -> bool:
        """Rank 0: the one process that writes."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """More than one process trains together."""
        return self.size > 1


def _int(env: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    value = env.get(name, "")
    return int(value) if value.strip().isdigit() else default


def env_world(env: dict[str, str] | os._Environ[str] | None = None) -> World:
    """The world ``torchrun`` described in the environment (one process when it did not)."""
    env = os.environ if env is None else env
    return World(_int(env, "RANK", 0), _int(env, "LOCAL_RANK", 0), max(1, _int(env, "WORLD_SIZE", 1)))


_initialised: World | None = None


def init(device_kind: str) -> World:
    """Join the process group when there is more than one process: NCCL on CUDA (one GPU per local rank),
    gloo on CPU. Idempotent; returns the world."""
    global _initialised
    if _initialised is not None:
        return _initialised
    world = env_world()
    if world.active:
        import torch
        import torch.distributed as dist

        if device_kind == "cuda":
            torch.cuda.set_device(world.local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT)
    _initialised = world
    return world


def current() -> World:
    """The world this process joined with :func:`init`; one process until then (scikit-learn families
    never join: under ``torchrun`` their rank 0 trains alone)."""
    return _initialised or World()


def shutdown() -> None:
    """Leave the process group (end of a job)."""
    global _initialised
    if _initialised is not None and _initialised.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _initialised = None


def wrap(module: Any, device: Any) -> Any:
    """``module`` in ``DistributedDataParallel`` when several processes train (which broadcasts rank 0's
    parameters and buffers, so every rank starts from the same weights), else ``module`` itself."""
    world = current()
    if not world.active:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [world.local_rank] if getattr(device, "type", str(device)) == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def no_sync(net: Any, accumulate: bool) -> ContextManager[Any]:
    """Skip the gradient all-reduce for a micro-batch that is not the last of its accumulation group."""
    if accumulate and hasattr(net, "no_sync"):
        return net.no_sync()
    return nullcontext()


def shard(batch: np.ndarray, world: World) -> tuple[np.ndarray, float]:
    """This rank's contiguous share of a batch of row indices, and its weight multiplier: 1, or 0 for a
    stand-in row when the batch has fewer rows than there are ranks (every rank must take part in
    every backward pass, or the all-reduce waits forever)."""
    if not world.active:
        return batch, 1.0
    part = np.array_split(batch, world.size)[world.rank]
    return (part, 1.0) if len(part) else (batch[:1], 0.0)


def barrier() -> None:
    """Wait for every rank (no-op alone)."""
    if current().active:
        import torch.distributed as dist

        dist.barrier()


def broadcast(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (picklable values; no-op alone)."""
    if not current().active:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool) -> bool:
    """True on every rank when it is True on any rank (a SIGTERM one rank saw stops them all together)."""
    if not current().active:
        return flag
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([1.0 if flag else 0.0], device=_collective_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item() > 0)


def mean(values: Sequence[float]) -> list[float]:
    """The element-wise mean of ``values`` over the ranks (no-op alone)."""
    if not current().active:
        return list(values)
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(list(values), dtype=torch.float64, device=_collective_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) / current().size for v in tensor.tolist()]


def _collective_device() -> Any:
    import torch
    import torch.distributed as dist

    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
