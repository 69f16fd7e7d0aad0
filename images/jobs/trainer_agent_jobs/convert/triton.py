"""Triton model repository: config.pbtxt files, model versions, labels and preprocessing.

scikit-learn text models are one ONNX model taking BYTES ``text`` (the vectorizer is in the graph). Torch
text models are an ensemble named after the model (BYTES ``text``) -> ``<model>_tokenize`` (Python
backend, the model's own tokenizer.json through Hugging Face ``tokenizers``) -> ``<model>_onnx``
(``input_ids``/``attention_mask``). Image models are an ensemble (BYTES ``image``, base64 PNG/JPEG) ->
``<model>_preprocess`` (Python backend) -> ``<model>_onnx``. On a GPU the ONNX models run on ONNX
Runtime with its TensorRT execution provider in FP16 (the engine is built when Triton loads the model).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from .spec import TritonSpec

PYTHON_MODEL = '''"""Triton Python backend: base64 PNG/JPEG BYTES ``image`` -> FP32 ``pixels`` (written by the converter)."""
import base64
import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_preprocessing import preprocess_batch  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "preprocessing.json")) as fh:
            self.spec = json.load(fh)

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "image").as_numpy().reshape(-1)
            try:
                pixels = preprocess_batch([base64.b64decode(x, validate=True) for x in raw], self.spec)
                responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("pixels", pixels.astype(np.float32))]))
            except Exception as exc:  # a bad image fails its own request, not the batch
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(f"invalid image: {exc}")))
        return responses
'''


TOKENIZER_MODEL = '''"""Triton Python backend: BYTES ``text`` -> INT64 ``input_ids``/``attention_mask`` (written by the converter).

The same tokenizer.json the model was trained with, through Hugging Face ``tokenizers``: truncated to
maxLength tokens, padded to the longest row of the request.
"""
import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "preprocessing.json")) as fh:
            spec = json.load(fh)
        self.tokenizer = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(spec["maxLength"]))
        pad = self.tokenizer.token_to_id("[PAD]")
        self.pad = 0 if pad is None else pad

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "text").as_numpy().reshape(-1)
            texts = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in raw]
            encodings = self.tokenizer.encode_batch(texts)
            longest = max([1] + [len(e.ids) for e in encodings])
            ids = np.full((len(texts), longest), self.pad, dtype=np.int64)
            mask = np.zeros((len(texts), longest), dtype=np.int64)
            for i, e in enumerate(encodings):
                ids[i, : len(e.ids)] = e.ids
                mask[i, : len(e.ids)] = 1
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("input_ids", ids), pb_utils.Tensor("attention_mask", mask)]))
        return responses
'''


@dataclass(frozen=True)
class TensorRT:
    """Whether TensorRT can be used here, and what the repository uses instead."""

    available: bool
    note: str


def detect_tensorrt(accelerator: str, wanted: bool) -> TensorRT:
    """TensorRT when asked for and serving on a GPU: Triton's ONNX Runtime backend carries the TensorRT
    execution provider and builds an FP16 engine when it loads the model, so nothing is compiled here
    (an offline ``model.plan`` would have to match the TensorRT version inside the Triton image)."""
    if not wanted:
        return TensorRT(False, "TensorRT not requested: ONNX Runtime")
    if accelerator == "cpu":
        return TensorRT(False, "CPU serving: ONNX Runtime (TensorRT needs a GPU)")
    local = "; trtexec/tensorrt present here" if shutil.which("trtexec") or importlib.util.find_spec("tensorrt") else ""
    return TensorRT(True, "GPU serving: ONNX Runtime's TensorRT execution provider in FP16, engine built by Triton at load" + local)


def _dims(shape: list[int]) -> str:
    return "[ " + ", ".join(str(d) for d in shape) + " ]"


def _tensor(name: str, dtype: str, dims: list[int]) -> str:
    if not dims:  # batched 1-D tensors: clients send [N, 1], the model sees [N]
        return f'  {{ name: "{name}" data_type: {dtype} dims: [ 1 ] reshape: {{ shape: [ ] }} }}'
    return f'  {{ name: "{name}" data_type: {dtype} dims: {_dims(dims)} }}'


def model_config(name: str, platform: str, inputs: list[tuple[str, str, list[int]]],
                 outputs: list[tuple[str, str, list[int]]], triton: TritonSpec, tensorrt: bool,
                 backend: str | None = None, batching: bool = True) -> str:
    """config.pbtxt text for one model (ONNX Runtime, Python backend or ensemble)."""
    lines = [f'name: "{name}"']
    lines.append(f'backend: "{backend}"' if backend else f'platform: "{platform}"')
    lines.append(f"max_batch_size: {triton.max_batch_size}")
    lines.append("input [\n" + ",\n".join(_tensor(*t) for t in inputs) + "\n]")
    lines.append("output [\n" + ",\n".join(_tensor(*t) for t in outputs) + "\n]")
    if platform != "ensemble":
        kind = "KIND_GPU" if triton.accelerator != "cpu" and backend is None else "KIND_CPU"
        lines.append(f"instance_group [ {{ count: {triton.instances} kind: {kind} }} ]")
    if batching and platform != "ensemble":
        lines.append("dynamic_batching {\n"
                     f"  preferred_batch_size: [ {triton.max_batch_size} ]\n"
                     f"  max_queue_delay_microseconds: {triton.queue_delay_us}\n}}")
    if tensorrt and platform == "onnxruntime_onnx":
        lines.append('optimization { execution_accelerators { gpu_execution_accelerator: [ { name: "tensorrt"\n'
                     '  parameters { key: "precision_mode" value: "FP16" }\n'
                     '  parameters { key: "max_workspace_size_bytes" value: "1073741824" } } ] } }')
    return "\n".join(lines) + "\n"


def ensemble_config(name: str, client_input: str, steps_from: str, onnx_name: str, tensors: list[str], classes: int,
                    triton: TritonSpec) -> str:
    """config.pbtxt of the public model: preprocessing (``client_input`` → ``tensors``), then the ONNX model."""
    head = model_config(name, "ensemble", [(client_input, "TYPE_STRING", [])],
                        [("label", "TYPE_STRING", []), ("probabilities", "TYPE_FP32", [classes])],
                        triton, tensorrt=False, batching=False)
    maps = "".join(f'      output_map {{ key: "{t}" value: "{t}" }}\n' for t in tensors)
    inputs = "".join(f'      input_map {{ key: "{t}" value: "{t}" }}\n' for t in tensors)
    return head + (
        "ensemble_scheduling {\n  step [\n"
        f'    {{ model_name: "{steps_from}" model_version: -1\n'
        f'      input_map {{ key: "{client_input}" value: "{client_input}" }}\n'
        f'{maps.rstrip()} }},\n'
        f'    {{ model_name: "{onnx_name}" model_version: -1\n'
        f'{inputs}'
        '      output_map { key: "label" value: "label" }\n'
        '      output_map { key: "probabilities" value: "probabilities" } }\n'
        "  ]\n}\n")


@dataclass
class Repository:
    """Where the repository was written and what the local server needs to find in it."""

    root: Path
    model_dir: Path
    onnx_path: Path
    files: list[str]
    model_bytes: int


def write_python_model(root: Path, name: str, code: str, meta: dict[str, Any], extra_files: list[Path], config: str) -> None:
    """A Python-backend model's folder: model.py, preprocessing.json and the files it reads, and ``config``."""
    folder = root / name
    (folder / "1").mkdir(parents=True, exist_ok=True)
    (folder / "1" / "model.py").write_text(code)
    for extra in extra_files:
        shutil.copy(extra, folder / "1" / extra.name)
    (folder / "1" / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
    (folder / "config.pbtxt").write_text(config)


def _python_step(root: Path, name: str, code: str, meta: dict[str, Any], extra_files: list[Path],
                 inputs: list[tuple[str, str, list[int]]], outputs: list[tuple[str, str, list[int]]], triton: TritonSpec) -> None:
    """A Python-backend step of an ensemble, configured from its inputs and outputs."""
    write_python_model(root, name, code, meta, extra_files, model_config(name, "", inputs, outputs, triton, tensorrt=False, backend="python"))


def write_repository(root: Path, name: str, model: onnx.ModelProto, labels: list[str],
                     preprocessing: dict[str, Any], triton: TritonSpec, tensorrt: bool,
                     tokenizer: Path | None = None) -> Repository:
    """Write ``root/<name>/`` and, for ensembles, the preprocessing and ONNX members."""
    if root.exists():
        shutil.rmtree(root)
    public = root / name
    classes = len(labels)
    kind = preprocessing["kind"]
    tokenized = kind == "text" and tokenizer is not None
    onnx_name = f"{name}_onnx" if kind == "image" or tokenized else name
    onnx_dir = root / onnx_name
    (onnx_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx_path = onnx_dir / "1" / "model.onnx"
    onnx.save(model, str(onnx_path))
    meta = dict(preprocessing, model=name, onnxModel=onnx_name, labels=labels,
                maxBatchSize=triton.max_batch_size, queueDelayUs=triton.queue_delay_us,
                instances=triton.instances)
    outputs = [("label", "TYPE_STRING", []), ("probabilities", "TYPE_FP32", [classes])]
    if kind == "text" and not tokenized:
        (onnx_dir / "config.pbtxt").write_text(model_config(
            onnx_name, "onnxruntime_onnx", [("text", "TYPE_STRING", [])], outputs, triton, tensorrt))
    elif tokenized:
        assert tokenizer is not None
        ids = [("input_ids", "TYPE_INT64", [-1]), ("attention_mask", "TYPE_INT64", [-1])]
        (onnx_dir / "config.pbtxt").write_text(model_config(onnx_name, "onnxruntime_onnx", ids, outputs, triton, tensorrt))
        (onnx_dir / "labels.txt").write_text("\n".join(labels) + "\n")
        _python_step(root, f"{name}_tokenize", TOKENIZER_MODEL, meta, [tokenizer], [("text", "TYPE_STRING", [])], ids, triton)
        (public / "1").mkdir(parents=True, exist_ok=True)
        (public / "config.pbtxt").write_text(ensemble_config(name, "text", f"{name}_tokenize", onnx_name,
                                                             ["input_ids", "attention_mask"], classes, triton))
        shutil.copy(tokenizer, public / "tokenizer.json")
    else:
        pixel_dims = ([preprocessing["channels"], preprocessing["height"], preprocessing["width"]]
                      if preprocessing.get("layout") == "chw"
                      else [preprocessing["channels"] * preprocessing["height"] * preprocessing["width"]])
        pixels = [("pixels", "TYPE_FP32", pixel_dims)]
        (onnx_dir / "config.pbtxt").write_text(model_config(onnx_name, "onnxruntime_onnx", pixels, outputs, triton, tensorrt))
        (onnx_dir / "labels.txt").write_text("\n".join(labels) + "\n")
        _python_step(root, f"{name}_preprocess", PYTHON_MODEL, meta, [Path(__file__).with_name("image_preprocessing.py")],
                     [("image", "TYPE_STRING", [])], pixels, triton)
        (public / "1").mkdir(parents=True, exist_ok=True)
        (public / "config.pbtxt").write_text(ensemble_config(name, "image", f"{name}_preprocess", onnx_name, ["pixels"], classes, triton))
    (public / "labels.txt").write_text("\n".join(labels) + "\n")
    (public / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    # What the delivered model weighs: the ONNX graph, plus the tokenizer file it cannot run without.
    model_bytes = onnx_path.stat().st_size + (tokenizer.stat().st_size if tokenized and tokenizer else 0)
    return Repository(root=root, model_dir=public, onnx_path=onnx_path, files=files, model_bytes=model_bytes)
