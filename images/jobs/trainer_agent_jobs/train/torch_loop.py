"""The training loop every torch family shares, with what users of trainers expect from one.

AdamW with linear warm-up and linear decay, mixed precision on GPU (autocast; a gradient scaler for
float16), gradient accumulation and clipping, per-row weights (class weights for imbalance, pseudo-label
weights), soft targets (one-hot for labelled rows, a teacher's probabilities for pseudo-labelled ones:
cross-entropy against them is distillation), early stopping on a validation split carved from the
training rows (never the test rows), fixed seeds, progress lines with loss, metric, samples/s and ETA,
checkpoints every N optimizer steps and on SIGTERM, and resume from the newest checkpoint.

Under ``torchrun`` (distributed.py) every rank takes its shard of each batch through
``DistributedDataParallel``; the loss is scaled so the averaged gradient is the whole batch's, so the
ranks together take the step one process would take on the whole batch. Only rank 0 writes
checkpoints; every rank resumes from the one rank 0 names, and a SIGTERM any rank sees stops them all.
"""
from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..common import events
from . import distributed

CHECKPOINT_PREFIX = "step-"
KEEP_CHECKPOINTS = 2


@dataclass(frozen=True)
class LoopConfig:
    """Hyperparameters of one run of the loop."""

    epochs: int
    batch_size: int
    learning_rate: float
    head_learning_rate: float
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    gradient_accumulation: int = 1
    patience: int = 2
    max_grad_norm: float = 1.0
    checkpoint_every: int = 50
    progress_every: int = 5
    seed: int = 0


@dataclass
class LoopOutcome:
    """What the loop did: steps, the epoch kept, the validation history, and where it resumed from."""

    steps: int
    best_epoch: int
    best_metric: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from_step: int = 0
    samples_per_second: float = 0.0


class StopRequested(SystemExit):
    """SIGTERM arrived: the loop saved a checkpoint and the job exits (143, like a terminated process)."""

    def __init__(self) -> None:
        super().__init__(143)


class TerminationFlag:
    """Turns SIGTERM into a flag the loop checks after each step (so it can checkpoint first)."""

    def __init__(self) -> None:
        self.requested = False
        try:
            signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread (tests): no handler
            pass

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True


class Progress:
    """Progress across every fit of a job: steps done of the planned total, samples/s, ETA."""

    def __init__(self, total_steps: int) -> None:
        self.total = max(1, total_steps)
        self.done = 0
        self.started = time.monotonic()
        self.samples = 0

    def step(self, samples: int, metric: dict[str, Any], emit: bool) -> None:
        """One optimizer step done; emits a progress line when asked."""
        self.done += 1
        self.samples += samples
        if not emit:
            return
        elapsed = max(1e-6, time.monotonic() - self.started)
        rate = self.samples / elapsed
        eta = max(0.0, (self.total - self.done) * elapsed / max(1, self.done))
        events.progress("train", min(self.done, self.total), self.total,
                        {**metric, "samplesPerSecond": round(rate, 2), "etaSeconds": round(eta, 1)})


def _checkpoints(directory: Path) -> list[Path]:
    found = [p for p in directory.glob(f"{CHECKPOINT_PREFIX}*.pt") if p.stem.removeprefix(CHECKPOINT_PREFIX).isdigit()]
    return sorted(found, key=lambda p: int(p.stem.removeprefix(CHECKPOINT_PREFIX)))


def newest_checkpoint(directory: Path) -> Path | None:
    """The checkpoint with the highest step under ``directory``, if any."""
    found = _checkpoints(directory) if directory.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (with its ``step``) as ``step-<n>.pt`` atomically, keeping the newest
    :data:`KEEP_CHECKPOINTS`; every torch loop of the jobs checkpoints this way."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{CHECKPOINT_PREFIX}{state['step']}.pt"
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(path)
    for old in _checkpoints(directory)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


def warmup_linear_decay(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """LR multiplier: linear from 0 to 1 over the warm-up steps, then linear down to 0 at the end."""
    warmup = max(1, int(math.ceil(total_steps * warmup_ratio)))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def soft_cross_entropy(logits: Any, targets: Any, weights: Any, total_weight: float | None = None) -> Any:
    """Σ w·(−Σ q log softmax(z)) / Σ w: cross-entropy against soft targets (distillation when q is a
    teacher's probabilities), with per-row weights. ``total_weight``: divide by the whole batch's Σ w
    instead of these rows' (a rank's shard of a batch)."""
    import torch

    log_probabilities = torch.log_softmax(logits.float(), dim=-1)
    per_row = -(targets * log_probabilities).sum(dim=-1)
    if total_weight is not None:
        return (per_row * weights).sum() / max(total_weight, 1e-12)
    return (per_row * weights).sum() / weights.sum().clamp(min=1e-12)


Forward = Callable[[Any, Sequence[int]], Any]
"""``forward(net, rows)``: logits for the training rows ``rows``, computed by calling ``net`` (the module,
or its ``DistributedDataParallel`` wrapper: gradients are only averaged through the wrapper's call)."""


class TrainingLoop:
    """One model, one training set; ``run`` trains it (resuming when a checkpoint exists)."""

    def __init__(
        self, module: Any, forward: Forward, targets: np.ndarray, weights: np.ndarray,
        config: LoopConfig, device: Any, checkpoint_dir: Path, progress: Progress, stop: TerminationFlag,
        validate: Callable[[], float] | None = None, head_parameters: Sequence[Any] = (),
        loss: Callable[[Any, Sequence[int]], Any] | None = None,
    ) -> None:
        self.module, self.forward, self.config, self.device = module, forward, config, device
        # Models that are not classifiers (boxes) give their own loss of (forward output, batch rows);
        # their targets are then only a row count.
        self.loss = loss
        self.targets, self.weights = targets.astype(np.float32), weights.astype(np.float32)
        self.checkpoint_dir, self.progress, self.stop, self.validate = checkpoint_dir, progress, stop, validate
        self.head_ids = {id(p) for p in head_parameters}

    @property
    def steps_per_epoch(self) -> int:
        batches = math.ceil(len(self.targets) / self.config.batch_size)
        return max(1, math.ceil(batches / self.config.gradient_accumulation))

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    def _optimizer(self) -> Any:
        import torch

        groups: dict[tuple[float, float], list[Any]] = {}
        for name, parameter in self.module.named_parameters():
            if not parameter.requires_grad:
                continue
            lr = self.config.head_learning_rate if id(parameter) in self.head_ids else self.config.learning_rate
            decay = 0.0 if parameter.ndim < 2 or "norm" in name.lower() else self.config.weight_decay
            groups.setdefault((lr, decay), []).append(parameter)
        return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()])

    def _save(self, state: dict[str, Any]) -> None:
        """Rank 0 writes the checkpoint; the others wait for it (a rank must not exit, or resume, before)."""
        if distributed.current().primary:
            save_checkpoint(self.checkpoint_dir, state)
        distributed.barrier()

    def run(self, amp_dtype: str | None = None) -> LoopOutcome:
        """Train for the configured epochs (early stopping on the validation metric when there is one)."""
        import torch

        config = self.config
        optimizer = self._optimizer()
        total = self.total_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(total, config.warmup_ratio))
        dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(amp_dtype or "")
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        outcome = LoopOutcome(steps=0, best_epoch=-1, best_metric=None)
        best_state: dict[str, Any] | None = None
        stale, epoch, position = 0, 0, 0
        world = distributed.current()
        # Rank 0 names the checkpoint (on the shared artifacts volume) every rank resumes from.
        checkpoint = distributed.broadcast(newest_checkpoint(self.checkpoint_dir))
        if checkpoint is not None:
            saved = torch.load(str(checkpoint), map_location=self.device, weights_only=False)
            self.module.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            scaler.load_state_dict(saved["scaler"])
            outcome = saved["outcome"]
            best_state, stale, epoch, position = saved["best"], saved["stale"], saved["epoch"], saved["position"]
            torch.set_rng_state(saved["rng"])
            outcome.resumed_from_step = outcome.steps
            self.progress.done += outcome.steps
            events.log(f"Resumed from checkpoint {checkpoint.name} (step {outcome.steps} of {total}, epoch {epoch + 1})")

        def state() -> dict[str, Any]:
            return {"model": self.module.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "outcome": outcome,
                    "best": best_state, "stale": stale, "epoch": epoch, "position": position, "step": outcome.steps,
                    "rng": torch.get_rng_state()}

        # Wrapped after loading: DDP starts every rank from rank 0's (restored) weights.
        net = distributed.wrap(self.module, self.device)
        started, seen = time.monotonic(), 0
        self.module.train()
        while epoch < config.epochs:
            order = np.random.default_rng(config.seed * 1000 + epoch).permutation(len(self.targets))
            batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
            groups = [batches[i:i + config.gradient_accumulation] for i in range(0, len(batches), config.gradient_accumulation)]
            while position < len(groups):
                loss_value, rows = 0.0, 0
                group = groups[position]
                for i, batch in enumerate(group):
                    local, keep = distributed.shard(batch, world)
                    with distributed.no_sync(net, world.active and i < len(group) - 1):
                        with torch.autocast(device_type=self.device.type, dtype=dtype, enabled=dtype is not None):
                            logits = self.forward(net, local.tolist())
                        if self.loss is not None:
                            # A model's own loss (boxes) averages over its rows; DDP's average over the ranks
                            # makes that the batch's.
                            loss = self.loss(logits, local.tolist()) / len(group)
                        else:
                            targets = torch.as_tensor(self.targets[local], device=self.device)
                            weights = torch.as_tensor(self.weights[local] * keep, device=self.device)
                            if world.active:
                                # DDP averages over ranks: × world size and ÷ the whole batch's weight makes
                                # the average the gradient of the whole batch's loss.
                                loss = soft_cross_entropy(logits, targets, weights, float(self.weights[batch].sum())) * world.size / len(group)
                            else:
                                loss = soft_cross_entropy(logits, targets, weights) / len(group)
                        scaler.scale(loss).backward()
                    loss_value += float(loss.detach())
                    rows += len(batch)
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(self.module.parameters(), config.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                position += 1
                outcome.steps += 1
                seen += rows
                emit = outcome.steps % config.progress_every == 0
                if emit and world.active:
                    loss_value = distributed.mean([loss_value])[0]  # the whole batch's loss
                metric = {"loss": round(loss_value, 4), "epoch": epoch + 1, "learningRate": scheduler.get_last_lr()[0]}
                if outcome.history:
                    metric["validation"] = outcome.history[-1]["metric"]
                self.progress.step(rows, metric, emit=emit)
                stop = distributed.any_rank(self.stop.requested) if world.active else self.stop.requested
                if stop or outcome.steps % config.checkpoint_every == 0:
                    self._save(state())
                if stop:
                    events.log(f"SIGTERM: saved checkpoint at step {outcome.steps}; exiting")
                    raise StopRequested()
            epoch, position = epoch + 1, 0
            if self.validate is not None:
                # Rank 0 validates; its value decides early stopping everywhere (the ranks hold the same weights).
                value = distributed.broadcast(self.validate() if world.primary else None)
                self.module.train()
                outcome.history.append({"epoch": epoch, "metric": value})
                events.log(f"Epoch {epoch}: validation metric {value:.4f}")
                if outcome.best_metric is None or value > outcome.best_metric:
                    outcome.best_metric, outcome.best_epoch, stale = value, epoch, 0
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
                else:
                    stale += 1
                if stale >= config.patience:
                    events.log(f"Early stopping after epoch {epoch}: no improvement for {stale} epochs "
                               f"(best {outcome.best_metric:.4f} at epoch {outcome.best_epoch})")
                    break
        if best_state is not None:
            self.module.load_state_dict(best_state)
        elif outcome.best_epoch < 0:
            outcome.best_epoch = epoch
        elapsed = time.monotonic() - started
        outcome.samples_per_second = round(seen / elapsed, 2) if elapsed > 0 and seen else 0.0
        self.module.eval()
        return outcome

