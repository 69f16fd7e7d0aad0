"""Trainers of the box tasks, fitted per view like the classifiers: OWL-ViT grounding and FCOS detection.

Both run the shared :class:`~.torch_loop.TrainingLoop` (AdamW, warm-up/decay, mixed precision on GPU,
checkpoints and resume, early stopping) with their own loss; a training "row" of the loop is an image
with all its annotations. Early stopping watches Acc@0.5 (grounding) or mAP@0.5 (detection) on a
validation part carved from the view's training images when there are enough of them; the view's test
rows are never seen.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events
from ..common.boxes import BoxRow
from ..common.runner import JobError
from .box_metrics import detection_metrics, grounding_metrics
from .measure import file_bytes
from .model_io import MANIFEST_FILE
from .torch_env import seed_everything
from .torch_loop import LoopConfig, TrainingLoop
from .torch_trainers import TorchTrainerBase

VALIDATION_MIN_IMAGES = 60
VALIDATION_FRACTION = 0.1
BOX_PATIENCE = 5


@dataclass(frozen=True)
class BoxViewData:
    """One view of the evaluation plan, as box rows."""

    name: str
    train: list[BoxRow]
    test: list[BoxRow]


def by_image(rows: Sequence[BoxRow]) -> dict[str, list[BoxRow]]:
    """Rows grouped by image, in first-seen order."""
    grouped: dict[str, list[BoxRow]] = defaultdict(list)
    for row in rows:
        grouped[row.image].append(row)
    return dict(grouped)


def validation_images(rows: Sequence[BoxRow], seed: int) -> tuple[list[BoxRow], list[BoxRow]]:
    """(fit rows, validation rows): 10% of the images when there are enough of them, else none."""
    images = list(by_image(rows))
    if len(images) < VALIDATION_MIN_IMAGES:
        return list(rows), []
    held = set(np.random.default_rng(seed).permutation(len(images))[: max(1, int(len(images) * VALIDATION_FRACTION))].tolist())
    names = {images[i] for i in held}
    return [r for r in rows if r.image not in names], [r for r in rows if r.image in names]


class BoxTrainerBase(TorchTrainerBase):
    """Loop settings, steps per view (images, not rows), manifest and measurement for box models."""

    def loop_config(self) -> LoopConfig:
        config = super().loop_config()
        if "patience" not in self.h:  # a model learning from scratch improves in fits and starts: stop less eagerly
            config = LoopConfig(**{**config.__dict__, "patience": BOX_PATIENCE})
        # Built from a config, nothing is pretrained: the head learns at the body's rate unless told otherwise.
        if not self.h.get("pretrained") and "headLearningRate" not in self.h:
            config = LoopConfig(**{**config.__dict__, "head_learning_rate": config.learning_rate})
        return config

    def planned_steps(self, view: Any, pseudo: int) -> int:
        config = self.loop_config()
        images = len(by_image(validation_images(view.train, self.seed)[0]))
        return config.epochs * max(1, math.ceil(math.ceil(images / config.batch_size) / config.gradient_accumulation))

    def train_images(self, view: BoxViewData, module: Any, forward: Any, loss: Any, images: int, validate: Any, head: Sequence[Any]) -> None:
        """Run the shared loop over ``images`` training images with the model's own loss."""
        seed_everything(self.seed)
        loop = TrainingLoop(module, forward, np.zeros((images, 1), dtype=np.float32), np.ones(images, dtype=np.float32), self.loop_config(),
                            self.device.torch_device, self.out / "checkpoints" / view.name, self.progress, self.stop, validate, head, loss=loss)
        outcome = loop.run(self.device.amp_dtype)
        self.report.details.update({"epochs": max(outcome.best_epoch, 0), "steps": outcome.steps,
                                    "samplesPerSecond": outcome.samples_per_second, "resumedFromStep": outcome.resumed_from_step})
        self.report.curve = outcome.history
        events.log(f"Fitted view {view.name}: {outcome.steps} steps, best epoch {outcome.best_epoch}, "
                   f"{outcome.samples_per_second} images/s")

    def measure(self, fitted: Any, directory: Path) -> tuple[int, int]:
        parameters = sum(int(p.numel()) for p in self.module_of(fitted).parameters())
        return parameters, file_bytes(directory) - file_bytes(directory / MANIFEST_FILE)


class GroundingTrainer(BoxTrainerBase):
    """OWL-ViT fine-tuned on (image, query, box) rows (train/grounding.py)."""

    def module_of(self, fitted: Any) -> Any:
        return fitted.module

    def fit(self, view: BoxViewData, pseudo: Any = None) -> Any:
        import torch

        from . import grounding as g

        seed_everything(self.seed)
        model = g.new_grounding_model(self.h, [r.query or "" for r in view.train])
        fit_rows, held = validation_images(view.train, self.seed)
        groups = list(by_image(fit_rows).values())
        cache: dict[str, np.ndarray] = {}
        device = self.device.torch_device
        model.module.to(device)
        flip = bool(self.h.get("flip", False))
        generator = np.random.default_rng(self.seed)
        grid = model.grid
        targets = []
        for rows in groups:
            boxes = np.stack([g.normalised_box(r) for r in rows])
            targets.append((boxes, np.stack([g.positive_patches(b, grid) for b in boxes])))

        vocabulary = sorted({r.query or "" for r in fit_rows})
        negatives = int(self.h.get("negativeQueries", 2))  # products the image does not show, asked of it per step

        def forward(net: Any, batch: Sequence[int]) -> Any:
            # One process (sizing keeps box models out of DistributedDataParallel): the model is called directly.
            chosen = [groups[i] for i in batch]
            # Besides its own queries, each image is asked for products it does not show (every patch is a
            # negative for them): that is what teaches the query, not just "where is a product".
            absent = []
            for rows in chosen:
                present = {r.query for r in rows}
                pool = [v for v in vocabulary if v not in present]
                absent.append([pool[int(j)] for j in generator.choice(len(pool), size=min(negatives, len(pool)), replace=False)] if pool else [])
            q = max(len(rows) + len(extra) for rows, extra in zip(chosen, absent))
            pixels = g.pixels_of([rows[0].image for rows in chosen], model.image, cache)
            flipped = generator.random(len(batch)) < 0.5 if flip else np.zeros(len(batch), dtype=bool)
            pixels[flipped] = pixels[flipped][..., ::-1]
            queries = [query for rows, extra in zip(chosen, absent)
                       for query in [r.query or "" for r in rows] + extra + [rows[0].query or ""] * (q - len(rows) - len(extra))]
            ids, mask = g.encode_queries(model.tokenizer, queries)
            for k, (rows, extra) in enumerate(zip(chosen, absent)):  # padding queries: first id 0, which OWL-ViT masks out
                ids[k * q + len(rows) + len(extra): (k + 1) * q] = 0
            batch_targets = []
            for k, i in enumerate(batch):
                boxes, masks = targets[i]
                if flipped[k]:
                    boxes = boxes.copy()
                    boxes[:, 0] = 1 - boxes[:, 0]
                    masks = np.stack([g.positive_patches(b, grid) for b in boxes])
                extra = len(absent[k])  # absent products: no box, no positive patch
                batch_targets.append((np.concatenate([boxes, np.zeros((extra, 4), dtype=np.float32)]),
                                      np.concatenate([masks, np.zeros((extra, masks.shape[1]), dtype=bool)])))
            logits, boxes = g.forward_images(model, torch.as_tensor(pixels.copy(), device=device), torch.as_tensor(ids, device=device),
                                             torch.as_tensor(mask, device=device))
            return logits, boxes, batch_targets

        def loss(out: Any, batch: Sequence[int]) -> Any:
            return g.grounding_loss(out[0], out[1], out[2])

        validate = None
        if held:
            validate = lambda: grounding_metrics(g.predict_rows(model, held, device, cache=cache)[0], held)["accuracy"]  # noqa: E731
        head = [] if not self.h.get("pretrained") else list(model.module.class_head.parameters()) + list(model.module.box_head.parameters())
        self.report.details["mode"] = "finetune" if self.h.get("pretrained") else "from-config"
        self.train_images(view, model.module, forward, loss, len(groups), validate, head)
        model.module.to("cpu")
        self.cache = cache
        return model

    def predict(self, fitted: Any, rows: Sequence[BoxRow]) -> np.ndarray:
        from .grounding import predict_rows

        return predict_rows(fitted, rows, cache=getattr(self, "cache", None))[0]

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        from .grounding import save_grounding_model

        files = save_grounding_model(fitted, directory)
        model_input = {"kind": "grounding", "image": fitted.image.preprocessing(), "tokenizer": files["tokenizer"], "maxLength": fitted.max_length}
        return self.write_manifest(directory, files, model_input, versions)


class DetectionTrainer(BoxTrainerBase):
    """torchvision FCOS fine-tuned on COCO-style rows (train/detection.py)."""

    def fit(self, view: BoxViewData, pseudo: Any = None) -> Any:
        import torch

        from . import detection as d
        from .grounding import pixels_of

        seed_everything(self.seed)
        config = d.config_from(self.h, self.labels)
        model = d.build_detector(config)
        if self.h.get("pretrained"):
            from .image_model import weights_file

            self.report.details["pretrainedTensors"] = d.load_pretrained_detector(model, weights_file(str(self.h["pretrained"])))
        fit_rows, held = validation_images(view.train, self.seed)
        cache: dict[str, np.ndarray] = {}
        device = self.device.torch_device
        model.to(device)
        flip = bool(self.h.get("flip", True))
        generator = np.random.default_rng(self.seed)
        spec = d._ImageSpec(config)

        def forward(net: Any, batch: Sequence[int]) -> Any:
            rows = [fit_rows[i] for i in batch]
            pixels = pixels_of([r.image for r in rows], spec, cache)
            targets = d.targets_of(rows, self.labels, config.image_size, device)
            if flip:
                for k in np.nonzero(generator.random(len(rows)) < 0.5)[0]:
                    pixels[k] = pixels[k][..., ::-1]
                    boxes = targets[k]["boxes"].clone()
                    targets[k]["boxes"] = torch.stack([config.image_size - boxes[:, 2], boxes[:, 1], config.image_size - boxes[:, 0], boxes[:, 3]], 1)
            net.train()
            return net(list(torch.as_tensor(pixels.copy(), device=device)), targets)

        def loss(out: Any, batch: Sequence[int]) -> Any:
            return sum(out.values())

        validate = None
        if held:
            def validate() -> float:
                predictions = d.predict_images(model, config, held, device, cache)
                return detection_metrics(predictions, held, self.labels)[0]["map50"]
        self.report.details["mode"] = "finetune" if self.h.get("pretrained") else "from-config"
        self.train_images(view, model, forward, loss, len(fit_rows), validate, [])
        self.config, self.cache = config, cache
        return model.to("cpu").eval()

    def predict(self, fitted: Any, rows: Sequence[BoxRow]) -> list[dict[str, np.ndarray]]:
        from .detection import predict_images

        return predict_images(fitted, self.config, rows, cache=getattr(self, "cache", None))

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        from .detection import save_detector

        files = save_detector(fitted, self.config, directory)
        model_input = {"kind": "detection", "image": self.config.preprocessing(), "maxDetections": self.config.max_detections}
        return self.write_manifest(directory, files, model_input, versions)


def box_trainer(task: str, **kwargs: Any) -> BoxTrainerBase:
    """The trainer of a box task."""
    if task == "visual-grounding":
        return GroundingTrainer(modality="multimodal", task=task, **kwargs)
    if task == "object-detection":
        return DetectionTrainer(modality="image", task=task, **kwargs)
    raise JobError(f"{task} is not a box task")
