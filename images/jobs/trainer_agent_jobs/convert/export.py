"""Export a trained model to ONNX with outputs ``label`` (string [N]) and ``probabilities`` (float [N, classes]).

Inputs: ``text`` (string [N]) for scikit-learn text pipelines (the vectorizer is in the graph);
``input_ids``/``attention_mask`` (int64 [N, S]) for torch text models, fed by the tokenizer.json saved with
the model (the serving tokenizer reads the same file); ``pixels`` (float) for image models.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnx
from onnx import TensorProto, helper

from .manifest import ModelManifest

ML_DOMAIN = "ai.onnx.ml"
TEXT_INPUT = "text"
IMAGE_INPUT = "pixels"
SKLEARN_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
UNICODE_TOKEN_EXP = r"[\p{L}\p{N}_][\p{L}\p{N}_]+"


class Reference(Protocol):
    """The trained model as the training job sees it: raw inputs -> labels and probabilities."""

    def predict(self, inputs: Any) -> tuple[list[str], np.ndarray]: ...


def single_input(name: str) -> Any:
    """The feed of a graph with one input that takes the rows as they are."""
    return lambda rows: {name: rows}


@dataclass
class Exported:
    """An exported ONNX model with its label order, what clients send (``input_name``), how rows become
    the graph's feed, and a callable reference for parity checks."""

    model: onnx.ModelProto
    labels: list[str]
    input_name: str
    reference: Reference
    warnings: list[str] = field(default_factory=list)
    feed: Any = None
    tokenizer: Path | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.feed is None:
            self.feed = single_input(self.input_name)


def _model_file(manifest: ModelManifest, model_dir: Path, keys: tuple[str, ...], suffixes: tuple[str, ...]) -> Path:
    for key in keys:
        if key in manifest.files:
            return model_dir / manifest.files[key]
    found = sorted(p for p in model_dir.iterdir() if p.suffix in suffixes)
    if not found:
        raise FileNotFoundError(f"no model file ({', '.join(suffixes)}) in {model_dir}")
    return found[0]


def label_names(classes: Any, manifest_labels: tuple[str, ...]) -> list[str]:
    """Name each probability column: string classes as they are, integer classes via the manifest labels."""
    out: list[str] = []
    for c in list(classes):
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < len(manifest_labels):
            out.append(manifest_labels[int(c)])
        else:
            out.append(str(c))
    return out


def _rename_io(model: onnx.ModelProto, old: str, new: str) -> None:
    if old == new:
        return
    for node in model.graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
        node.output[:] = [new if x == old else x for x in node.output]
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.name == old:
            vi.name = new


def ensure_string_labels(model: onnx.ModelProto, classes: list[Any], names: list[str]) -> None:
    """Make the ``label`` output a string tensor, appending a LabelEncoder when the classifier emits ints."""
    out = next(o for o in model.graph.output if o.name == "label")
    if out.type.tensor_type.elem_type == TensorProto.STRING:
        return
    _rename_io(model, "label", "label_index")
    idx = next(o for o in model.graph.output if o.name == "label_index")
    model.graph.output.remove(idx)
    model.graph.node.append(helper.make_node(
        "LabelEncoder", ["label_index"], ["label"], domain=ML_DOMAIN, name="label_names",
        keys_int64s=[int(c) for c in classes], values_strings=names, default_string="",
    ))
    model.graph.output.insert(0, helper.make_tensor_value_info("label", TensorProto.STRING, [None]))
    ml = next((o for o in model.opset_import if o.domain == ML_DOMAIN), None)
    if ml is None:
        model.opset_import.append(helper.make_opsetid(ML_DOMAIN, 2))
    elif ml.version < 2:  # LabelEncoder's int64 -> string attributes arrived in ai.onnx.ml 2
        ml.version = 2


def normalise_outputs(model: onnx.ModelProto) -> None:
    """Name the two classifier outputs ``label`` and ``probabilities`` whatever the converter called them."""
    outputs = list(model.graph.output)
    if len(outputs) < 2:
        raise ValueError(f"expected label and probability outputs, got {[o.name for o in outputs]}")
    _rename_io(model, outputs[0].name, "label")
    _rename_io(model, outputs[1].name, "probabilities")


class _SklearnReference:
    def __init__(self, pipeline: Any, names: list[str]) -> None:
        self.pipeline = pipeline
        self.names = names
        self.classes = list(pipeline.classes_)

    def predict(self, inputs: Any) -> tuple[list[str], np.ndarray]:
        probs = np.asarray(self.pipeline.predict_proba(inputs), dtype=np.float64)
        predicted = self.pipeline.predict(inputs)
        index = {c: i for i, c in enumerate(self.classes)}
        return [self.names[index[p]] for p in predicted], probs


def export_sklearn(manifest: ModelManifest, model_dir: Path) -> Exported:
    """Convert a joblib'd scikit-learn pipeline with skl2onnx (zipmap off; text vectorizer kept in-graph)."""
    import joblib
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    pipeline = joblib.load(_model_file(manifest, model_dir, ("model", "pipeline", "sklearn"), (".joblib", ".pkl")))
    if not hasattr(pipeline, "predict_proba"):
        raise ValueError("the scikit-learn model has no predict_proba: probabilities cannot be served")
    classes = list(pipeline.classes_)
    names = label_names(classes, manifest.labels)
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    options: dict[Any, Any] = {id(final): {"zipmap": False}}
    warnings: list[str] = []
    if manifest.image is None:
        for est in _walk(pipeline):
            if getattr(est, "sublinear_tf", False):
                warnings.append("TfidfVectorizer(sublinear_tf=True): skl2onnx computes log(1 + tf) where scikit-learn "
                                "computes 1 + log(tf), so probabilities drift; train with sublinear_tf=False")
            if isinstance(est, (TfidfVectorizer, CountVectorizer)):
                # C.UTF-8 exists in every glibc image; ORT's default en_US.UTF-8 often does not.
                options[id(est)] = {"locale": "C.UTF-8"}
                if est.token_pattern == SKLEARN_TOKEN_PATTERN and est.tokenizer is None and est.analyzer == "word":
                    # RE2 (onnxruntime's Tokenizer) reads \w as ASCII; scikit-learn's is Unicode ("résumé").
                    options[id(est)]["tokenexp"] = UNICODE_TOKEN_EXP
        initial = [(TEXT_INPUT, StringTensorType([None]))]
        input_name = TEXT_INPUT
    else:
        img = manifest.image
        initial = [(IMAGE_INPUT, FloatTensorType([None, img.height * img.width * img.channels]))]
        input_name = IMAGE_INPUT
    model = convert_sklearn(pipeline, initial_types=initial, options=options,
                            target_opset={"": 17, ML_DOMAIN: 3})
    normalise_outputs(model)
    ensure_string_labels(model, classes, names)
    return Exported(model=model, labels=names, input_name=input_name,
                    reference=_SklearnReference(pipeline, names), warnings=warnings)


def _walk(est: Any) -> list[Any]:
    out = [est]
    for _, child in getattr(est, "steps", []) or []:
        out += _walk(child)
    for _, child, *_ in getattr(est, "transformer_list", []) or []:
        out += _walk(child)
    for _, child, *_ in getattr(est, "transformers", []) or []:
        if hasattr(child, "fit"):
            out += _walk(child)
    return out


class _TorchReference:
    def __init__(self, module: Any, names: list[str], feed: Any) -> None:
        self.module = module
        self.names = names
        self.feed = feed

    def predict(self, inputs: Any) -> tuple[list[str], np.ndarray]:
        import torch

        probs = []
        with torch.inference_mode():
            for start in range(0, len(inputs), 64):
                feed = {k: torch.as_tensor(v) for k, v in self.feed(inputs[start:start + 64]).items()}
                probs.append(torch.softmax(self.module(*feed.values()).float(), dim=-1).numpy().astype(np.float64))
        out = np.concatenate(probs) if probs else np.zeros((0, len(self.names)))
        return [self.names[int(i)] for i in out.argmax(axis=1)], out


def tokenizer_feed(tokenizer: Any) -> Any:
    """Raw strings → ``input_ids`` and ``attention_mask`` with the model's own tokenizer.json."""
    from ..train.text_encoder import encode

    def feed(rows: Any) -> dict[str, np.ndarray]:
        ids, mask = encode(tokenizer, [str(x) for x in rows])
        return {"input_ids": ids, "attention_mask": mask}

    return feed


def _export_module(module: Any, example: tuple[Any, ...], names: list[str], path: Path, dynamic: dict[str, dict[int, str]]) -> None:
    """torch.onnx (TorchScript exporter) of ``module`` with softmax and argmax in the graph, in eval mode."""
    import torch

    class Classified(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> tuple[Any, Any]:
            probs = torch.softmax(self.inner(*inputs).float(), dim=-1)
            return torch.argmax(probs, dim=-1), probs

    wrapped = Classified(module).eval()  # eval on the wrapper too: the exporter follows the top module's mode
    torch.onnx.export(wrapped, example, str(path), input_names=names, output_names=["label", "probabilities"],
                      opset_version=18, dynamo=False,
                      dynamic_axes={**dynamic, "label": {0: "N"}, "probabilities": {0: "N"}})


def export_torch(manifest: ModelManifest, model_dir: Path, work_dir: Path) -> Exported:
    """Export a torch classifier: text with its tokenizer outside the graph, images on NCHW pixels."""
    import torch

    names = list(manifest.labels)
    path = work_dir / "torch-export.onnx"
    if manifest.image is None:
        from ..train.text_encoder import load_text_model

        text = load_text_model(model_dir)
        feed = tokenizer_feed(text.tokenizer)
        example = feed(["an example", "a somewhat longer example sentence"])
        _export_module(text.module, (torch.as_tensor(example["input_ids"]), torch.as_tensor(example["attention_mask"])),
                       ["input_ids", "attention_mask"], path,
                       {"input_ids": {0: "N", 1: "S"}, "attention_mask": {0: "N", 1: "S"}})
        model = onnx.load(str(path))
        ensure_string_labels(model, list(range(len(names))), names)
        return Exported(model=model, labels=names, input_name=TEXT_INPUT, reference=_TorchReference(text.module, names, feed),
                        feed=feed, tokenizer=model_dir / manifest.files["tokenizer"], max_length=text.max_length)
    from ..train.image_model import load

    module = load(model_dir)
    img = manifest.image
    shape = (1, img.channels, img.height, img.width) if img.layout == "chw" else (1, img.height * img.width * img.channels)
    _export_module(module, (torch.zeros(shape),), [IMAGE_INPUT], path, {IMAGE_INPUT: {0: "N"}})
    model = onnx.load(str(path))
    ensure_string_labels(model, list(range(len(names))), names)
    feed = single_input(IMAGE_INPUT)
    return Exported(model=model, labels=names, input_name=IMAGE_INPUT, reference=_TorchReference(module, names, lambda rows: {IMAGE_INPUT: np.asarray(rows, dtype=np.float32)}), feed=feed)


def export(manifest: ModelManifest, model_dir: Path, work_dir: Path) -> Exported:
    """Export whichever framework the manifest names."""
    if manifest.framework == "sklearn":
        return export_sklearn(manifest, model_dir)
    return export_torch(manifest, model_dir, work_dir)
