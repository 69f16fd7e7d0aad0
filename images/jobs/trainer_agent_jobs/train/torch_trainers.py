"""PyTorch trainers: transformer text classifiers and timm image classifiers, fitted per view.

Both put one :class:`~.torch_loop.TrainingLoop` behind the :class:`~.trainers.Trainer` interface. Targets
are soft: one-hot for labelled rows, the teacher's probabilities for pseudo-labelled ones (distillation).
A validation split for early stopping is carved from the view's labelled training rows when there are
enough of them; the view's test rows are never seen. Checkpoints live under
``<out>/checkpoints/<view>/`` so a killed job resumes the fit it was in, and finished views are not redone.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events
from ..common.features import ImageGeometry, image_matrix, infer_geometry
from ..common.records import Record
from ..common.runner import JobError
from ..common.schemas import validate
from ..data.evaluation import View
from .dataset import encode_labels
from .measure import file_bytes
from .model_io import MANIFEST_FILE
from .torch_env import Device, seed_everything
from .torch_loop import LoopConfig, Progress, TerminationFlag, TrainingLoop
from .trainers import FitReport, PseudoLabels

# A validation split (for early stopping) is carved only from this many labelled training rows up.
VALIDATION_MIN_ROWS = 200
VALIDATION_FRACTION = 0.1
VALIDATION_MAX_ROWS = 500
# Class weights switch on ("auto") when the smallest class has less than this share of the largest.
IMBALANCE_RATIO = 0.5


def class_weights(y: np.ndarray, classes: int, mode: str) -> np.ndarray:
    """Per-class weights: balanced (n / (K · n_c), mean 1 over rows) when asked or, for ``auto``, when
    the classes are imbalanced; ones otherwise."""
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    present = counts[counts > 0]
    imbalanced = len(present) > 1 and present.min() / present.max() < IMBALANCE_RATIO
    if mode == "none" or (mode == "auto" and not imbalanced):
        return np.ones(classes)
    weights = np.where(counts > 0, len(y) / (len(present) * np.maximum(counts, 1)), 0.0)
    return weights


def validation_split(records: Sequence[Record], seed: int) -> tuple[list[Record], list[Record]]:
    """(fit rows, validation rows): a stratified 10% (at most 500) when there are enough rows, else none."""
    rows = list(records)
    if len(rows) < VALIDATION_MIN_ROWS:
        return rows, []
    from sklearn.model_selection import train_test_split

    size = min(VALIDATION_MAX_ROWS, max(len({r.label for r in rows}), int(len(rows) * VALIDATION_FRACTION)))
    labels = [r.label for r in rows]
    try:
        fit, held = train_test_split(rows, test_size=size, random_state=seed, stratify=labels)
    except ValueError:
        fit, held = train_test_split(rows, test_size=size, random_state=seed)
    return list(fit), list(held)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def validation_metric(y: np.ndarray, probabilities: np.ndarray, balanced: bool) -> float:
    """Accuracy, or macro F1 when the classes are imbalanced (what early stopping watches)."""
    from sklearn.metrics import f1_score

    predicted = probabilities.argmax(axis=1)
    if balanced:
        return float(f1_score(y, predicted, average="macro", zero_division=0))
    return float((predicted == y).mean())


class TorchTrainerBase:
    """What the text and image trainers share: targets, weights, the loop, progress and checkpoints."""

    framework = "torch"

    def __init__(self, *, task: str, modality: str, family: str, model_id: str, hyperparameters: dict[str, Any],
                 seed: int, labels: Sequence[str], out: Path, device: Device, progress: Progress,
                 stop: TerminationFlag) -> None:
        self.task, self.modality, self.family, self.model_id = task, modality, family, model_id
        self.h, self.seed, self.labels, self.out = hyperparameters, seed, list(labels), out
        self.device, self.progress, self.stop = device, progress, stop
        self.report = FitReport({"device": device.to_json()})

    # ------------------------------------------------------------------ hyperparameters
    def loop_config(self) -> LoopConfig:
        """The loop's settings from the hyperparameters (the Model agent planned them)."""
        h = self.h
        lr = float(h.get("learningRate", 5e-5))
        return LoopConfig(
            epochs=int(h.get("epochs", 3)), batch_size=int(h.get("batchSize", 16)), learning_rate=lr,
            head_learning_rate=float(h.get("headLearningRate", lr * 20)), weight_decay=float(h.get("weightDecay", 0.01)),
            warmup_ratio=float(h.get("warmupRatio", 0.1)), gradient_accumulation=int(h.get("gradientAccumulation", 1)),
            patience=int(h.get("patience", 2)), checkpoint_every=int(h.get("checkpointEverySteps", 50)),
            progress_every=int(h.get("progressEverySteps", 5)), seed=self.seed)

    def planned_steps(self, view: View, pseudo: int) -> int:
        """Optimizer steps of the view's fit (before early stopping)."""
        if self.h.get("mode") == "frozen":
            return 0
        config = self.loop_config()
        fit_rows = len(validation_split(view.train, self.seed)[0]) + pseudo
        return config.epochs * max(1, math.ceil(math.ceil(fit_rows / config.batch_size) / config.gradient_accumulation))

    # ------------------------------------------------------------------ targets
    def targets(self, labelled: Sequence[Record], pseudo: PseudoLabels | None) -> tuple[np.ndarray, np.ndarray]:
        """Soft targets ``[N, K]`` and row weights: one-hot × class weight for labelled rows, the
        teacher's probabilities × ``pseudoLabelWeight`` for pseudo-labelled ones."""
        k = len(self.labels)
        y = encode_labels(labelled, self.labels)
        per_class = class_weights(y, k, str(self.h.get("classWeights", "auto")))
        targets = [np.eye(k, dtype=np.float32)[y]]
        weights = [per_class[y]]
        if pseudo is not None and len(pseudo):
            targets.append(pseudo.probabilities.astype(np.float32))
            weights.append(np.full(len(pseudo), float(self.h.get("pseudoLabelWeight", 1.0))))
        if per_class.min() != per_class.max():
            self.report.details["classWeights"] = {label: round(float(w), 4) for label, w in zip(self.labels, per_class)}
        return np.concatenate(targets), np.concatenate(weights)

    def run_loop(self, view: View, module: Any, forward: Any, targets: np.ndarray, weights: np.ndarray,
                 validate: Any, head: Sequence[Any]) -> None:
        """Train ``module`` on the targets with checkpoints under checkpoints/<view>/."""
        seed_everything(self.seed)
        loop = TrainingLoop(module, forward, targets, weights, self.loop_config(), self.device.torch_device,
                            self.out / "checkpoints" / view.name, self.progress, self.stop, validate, head)
        outcome = loop.run(self.device.amp_dtype)
        self.report.details.update({"epochs": max(outcome.best_epoch, 0), "steps": outcome.steps,
                                    "samplesPerSecond": outcome.samples_per_second,
                                    "resumedFromStep": outcome.resumed_from_step})
        self.report.curve = outcome.history
        events.log(f"Fitted view {view.name}: {outcome.steps} steps, best epoch {outcome.best_epoch}, "
                   f"{outcome.samples_per_second} samples/s")

    def write_manifest(self, directory: Path, files: dict[str, str], model_input: dict[str, Any],
                       versions: dict[str, str]) -> dict[str, Any]:
        """A schema-valid manifest.json for the saved model."""
        manifest = {"framework": "torch", "task": self.task, "modality": self.modality, "modelId": self.model_id,
                    "family": self.family, "labels": self.labels, "input": model_input, "files": files,
                    "packageVersions": versions}
        validate(manifest, "model-manifest")
        (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest

    def measure(self, fitted: Any, directory: Path) -> tuple[int, int]:
        """Parameters of the module; bytes of every file the served model needs (weights, tokenizer, config)."""
        parameters = sum(int(p.numel()) for p in self.module_of(fitted).parameters())
        return parameters, file_bytes(directory) - file_bytes(directory / MANIFEST_FILE)

    def module_of(self, fitted: Any) -> Any:
        return fitted


class TorchTextTrainer(TorchTrainerBase):
    """A pretrained transformer encoder with mean pooling and a linear head (text_encoder.py).

    ``mode: frozen`` fits only the head, as logistic regression on the frozen embeddings; ``finetune``
    starts from that head (a linear probe first keeps the pretrained features from being wrecked early)
    and trains everything. ``layers`` and ``pruneVocabulary`` make a small student."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = int(self.h.get("maxLength", 128))

    def module_of(self, fitted: Any) -> Any:
        return fitted.module

    def fit(self, view: View, pseudo: PseudoLabels | None) -> Any:
        from .text_encoder import new_text_model, prune

        seed_everything(self.seed)
        layers = self.h.get("layers")
        model = new_text_model(self.h.get("pretrained"), len(self.labels), self.max_length,
                               layers=int(layers) if layers else None)
        if self.h.get("pruneVocabulary"):
            kept = prune(model, [r.text or "" for r in list(view.train) + list(view.unlabelled)])
            self.report.details["vocabulary"] = kept
        fit_rows, held = validation_split(view.train, self.seed)
        targets, weights = self.targets(fit_rows, pseudo)
        texts = [r.text or "" for r in fit_rows] + ([r.text or "" for r in pseudo.records] if pseudo else [])
        self.linear_probe(model, texts, targets, weights)
        mode = str(self.h.get("mode", "finetune"))
        self.report.details["mode"] = mode
        if mode == "frozen":
            return model
        model.module.to(self.device.torch_device)
        encoded = [e.ids for e in model.tokenizer.encode_batch(texts)]
        validate = self.validator(model, held)

        def forward(net: Any, batch: Sequence[int]) -> Any:
            return self.forward_ids(model, [encoded[i] for i in batch], net)

        self.run_loop(view, model.module, forward, targets, weights, validate, list(model.module.head.parameters()))
        model.module.to("cpu")
        return model

    def forward_ids(self, model: Any, rows: Sequence[Sequence[int]], net: Any = None) -> Any:
        """Logits for pre-tokenised rows, padded to the longest, through ``net`` (the module, or its
        distributed wrapper while training)."""
        import torch

        from .text_encoder import pad_id

        longest = max(len(r) for r in rows)
        ids = np.full((len(rows), longest), pad_id(model.tokenizer), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        device = self.device.torch_device
        return (net or model.module)(torch.as_tensor(ids, device=device), torch.as_tensor(mask, device=device))

    def validator(self, model: Any, held: Sequence[Record]) -> Any:
        """Early stopping's metric on the validation rows, or None without them."""
        if not held:
            return None
        y = encode_labels(held, self.labels)
        balanced = class_weights(y, len(self.labels), "auto").min() != 1.0
        texts = [r.text or "" for r in held]
        return lambda: validation_metric(y, softmax(model.logits(texts, device=self.device.torch_device)), balanced)

    def linear_probe(self, model: Any, texts: Sequence[str], targets: np.ndarray, weights: np.ndarray) -> None:
        """Logistic regression on the frozen embeddings (soft targets as weighted copies), copied into the head."""
        import torch
        from sklearn.linear_model import LogisticRegression

        from .text_encoder import encode

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        features = np.zeros((len(texts), int(model.module.head.in_features)), dtype=np.float32)
        with torch.inference_mode():
            model.module.eval()
            for start in range(0, len(order), 64):
                chunk = order[start:start + 64]
                ids, mask = encode(model.tokenizer, [texts[i] for i in chunk])
                features[chunk] = model.module.embed(torch.as_tensor(ids), torch.as_tensor(mask)).float().numpy()
        rows, classes, row_weights = [], [], []
        for i, (target, weight) in enumerate(zip(targets, weights)):
            for k in np.nonzero(target >= 0.05)[0]:
                rows.append(i)
                classes.append(int(k))
                row_weights.append(float(target[k] * weight))
        present = sorted(set(classes))
        probe = LogisticRegression(C=float(self.h.get("C", 10.0)), max_iter=3000, random_state=self.seed)
        probe.fit(features[rows], classes, sample_weight=row_weights)
        head = model.module.head
        with torch.no_grad():
            head.weight.zero_()
            head.bias.fill_(-10.0)  # classes absent from training stay improbable
            if len(present) == 2 and probe.coef_.shape[0] == 1:
                coef, bias = torch.as_tensor(probe.coef_[0], dtype=torch.float32), float(probe.intercept_[0])
                head.weight[present[1]] = coef / 2
                head.weight[present[0]] = -coef / 2
                head.bias[present[1]], head.bias[present[0]] = bias / 2, -bias / 2
            else:
                for row, k in enumerate(probe.classes_):
                    head.weight[int(k)] = torch.as_tensor(probe.coef_[row], dtype=torch.float32)
                    head.bias[int(k)] = float(probe.intercept_[row])

    def probabilities(self, fitted: Any, records: Sequence[Record]) -> np.ndarray:
        if not records:
            return np.zeros((0, len(self.labels)))
        return softmax(fitted.logits([r.text or "" for r in records]))

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        from .text_encoder import save_text_model

        files = save_text_model(fitted, directory)
        return self.write_manifest(directory, files, {"kind": "text", "tokenizer": files["tokenizer"],
                                                      "maxLength": self.max_length}, versions)


class TorchImageTrainer(TorchTrainerBase):
    """A timm network: pretrained backbone when ``pretrained`` names weights, else built from config."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.geometry: ImageGeometry | None = None
        self.config: Any = None

    def prepare(self, records: Sequence[Record]) -> None:
        """Fix the network config and the input geometry (once, from the training rows)."""
        if self.config is not None:
            return
        from .image_model import ImageModelConfig, build

        architecture = str(self.h.get("architecture", "test_resnet"))
        pretrained = self.h.get("pretrained")
        measured = infer_geometry(records)
        channels = 3 if pretrained else measured.channels
        self.config = ImageModelConfig(architecture, len(self.labels), channels, {})
        reference = build(self.config).pretrained_cfg
        size = int(self.h.get("imageSize", reference.get("input_size", (3, 224, 224))[-1] if pretrained else max(measured.height, measured.width)))
        if pretrained:
            mean, std = tuple(float(x) for x in reference["mean"]), tuple(float(x) for x in reference["std"])
        else:
            mean, std = measured.mean, measured.std
        self.geometry = ImageGeometry(size, size, channels, mean, std)

    def pixels(self, records: Sequence[Record]) -> np.ndarray:
        """``[N, C, H, W]`` float32, preprocessed exactly as serving does (Pillow resize, scale, mean/std)."""
        assert self.geometry is not None
        g = self.geometry
        return image_matrix(records, g).reshape(len(records), g.height, g.width, g.channels).transpose(0, 3, 1, 2).copy()

    def fit(self, view: View, pseudo: PseudoLabels | None) -> Any:
        import torch

        from .image_model import build, load_pretrained, weights_file

        seed_everything(self.seed)
        self.prepare(view.train)
        model = build(self.config)
        if self.h.get("pretrained"):
            counts = load_pretrained(model, weights_file(str(self.h["pretrained"])))
            self.report.details["pretrainedTensors"] = counts
        fit_rows, held = validation_split(view.train, self.seed)
        targets, weights = self.targets(fit_rows, pseudo)
        inputs = self.pixels(list(fit_rows) + (list(pseudo.records) if pseudo else []))
        flip = bool(self.h.get("flip", False))
        device = self.device.torch_device
        model.to(device)
        generator = np.random.default_rng(self.seed)

        def forward(net: Any, batch: Sequence[int]) -> Any:
            x = torch.as_tensor(inputs[list(batch)], device=device)
            if flip:
                mask = torch.as_tensor(generator.random(len(batch)) < 0.5, device=device)
                x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            return net(x)

        validate = None
        if held:
            y = encode_labels(held, self.labels)
            balanced = class_weights(y, len(self.labels), "auto").min() != 1.0
            validate = lambda: validation_metric(y, self.probabilities(model, held), balanced)  # noqa: E731
        head = model.get_classifier().parameters()
        self.run_loop(view, model, forward, targets, weights, validate, list(head))
        return model.to("cpu").eval()

    def probabilities(self, fitted: Any, records: Sequence[Record]) -> np.ndarray:
        import torch

        if not records:
            return np.zeros((0, len(self.labels)))
        device = next(fitted.parameters()).device
        fitted.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(records), 64):
                out.append(fitted(torch.as_tensor(self.pixels(records[start:start + 64]), device=device)).float().cpu().numpy())
        return softmax(np.concatenate(out))

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        from .image_model import save

        assert self.geometry is not None
        files = save(fitted, self.config, directory)
        model_input = {**self.geometry.to_manifest(), "layout": "nchw"}
        return self.write_manifest(directory, files, model_input, versions)


def torch_trainer(modality: str, **kwargs: Any) -> TorchTrainerBase:
    """The torch trainer for a modality."""
    if modality == "text":
        return TorchTextTrainer(modality=modality, **kwargs)
    if modality == "image":
        return TorchImageTrainer(modality=modality, **kwargs)
    raise JobError(f"torch families train text and image models, not {modality}")
