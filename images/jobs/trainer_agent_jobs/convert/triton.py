"""Triton model repository: config.pbtxt files, model versions, labels and preprocessing.

Text models are one ONNX model taking BYTES ``text``. Image models are an ensemble named after the model
(BYTES ``image``, base64 PNG/JPEG) -> ``<model>_preprocess`` (Python backend) -> ``<model>_onnx``.
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


@dataclass(frozen=True)
class TensorRT:
    """Whether TensorRT can be used here, and what the repository uses instead."""

    available: bool
    note: str


def detect_tensorrt(accelerator: str, wanted: bool) -> TensorRT:
    """TensorRT only when asked for, on a GPU, with trtexec or the tensorrt module present."""
    if not wanted:
        return TensorRT(False, "TensorRT not requested: ONNX Runtime")
    if accelerator == "cpu":
        return TensorRT(False, "CPU serving: ONNX Runtime (TensorRT needs a GPU)")
    if shutil.which("trtexec") or importlib.util.find_spec("tensorrt") is not None:
        return TensorRT(True, "TensorRT found: ONNX Runtime with the TensorRT execution accelerator")
    return TensorRT(False, "TensorRT not found (no trtexec, no tensorrt module): ONNX Runtime")


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
        lines.append('optimization { execution_accelerators { gpu_execution_accelerator: [ { name: "tensorrt" } ] } }')
    return "\n".join(lines) + "\n"


def ensemble_config(name: str, steps_from: str, onnx_name: str, pixel_dims: list[int], classes: int,
                    triton: TritonSpec) -> str:
    """config.pbtxt of the public image model: preprocessing then the ONNX model."""
    head = model_config(name, "ensemble", [("image", "TYPE_STRING", [])],
                        [("label", "TYPE_STRING", []), ("probabilities", "TYPE_FP32", [classes])],
                        triton, tensorrt=False, batching=False)
    return head + (
        "ensemble_scheduling {\n  step [\n"
        f'    {{ model_name: "{steps_from}" model_version: -1\n'
        '      input_map { key: "image" value: "image" }\n'
        '      output_map { key: "pixels" value: "pixels" } },\n'
        f'    {{ model_name: "{onnx_name}" model_version: -1\n'
        '      input_map { key: "pixels" value: "pixels" }\n'
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


def write_repository(root: Path, name: str, model: onnx.ModelProto, labels: list[str],
                     preprocessing: dict[str, Any], triton: TritonSpec, tensorrt: bool) -> Repository:
    """Write ``root/<name>/`` (and, for images, the preprocess and ONNX members of the ensemble)."""
    if root.exists():
        shutil.rmtree(root)
    public = root / name
    classes = len(labels)
    kind = preprocessing["kind"]
    onnx_name = name if kind == "text" else f"{name}_onnx"
    onnx_dir = root / onnx_name
    (onnx_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx_path = onnx_dir / "1" / "model.onnx"
    onnx.save(model, str(onnx_path))
    meta = dict(preprocessing, model=name, onnxModel=onnx_name, labels=labels,
                maxBatchSize=triton.max_batch_size, queueDelayUs=triton.queue_delay_us,
                instances=triton.instances)
    outputs = [("label", "TYPE_STRING", []), ("probabilities", "TYPE_FP32", [classes])]
    if kind == "text":
        (onnx_dir / "config.pbtxt").write_text(model_config(
            onnx_name, "onnxruntime_onnx", [("text", "TYPE_STRING", [])], outputs, triton, tensorrt))
    else:
        pixel_dims = ([preprocessing["channels"], preprocessing["height"], preprocessing["width"]]
                      if preprocessing.get("layout") == "chw"
                      else [preprocessing["channels"] * preprocessing["height"] * preprocessing["width"]])
        (onnx_dir / "config.pbtxt").write_text(model_config(
            onnx_name, "onnxruntime_onnx", [("pixels", "TYPE_FP32", pixel_dims)], outputs, triton, tensorrt))
        (onnx_dir / "labels.txt").write_text("\n".join(labels) + "\n")
        pre_name = f"{name}_preprocess"
        pre_dir = root / pre_name
        (pre_dir / "1").mkdir(parents=True, exist_ok=True)
        (pre_dir / "1" / "model.py").write_text(PYTHON_MODEL)
        shutil.copy(Path(__file__).with_name("image_preprocessing.py"), pre_dir / "1" / "image_preprocessing.py")
        (pre_dir / "1" / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
        (pre_dir / "config.pbtxt").write_text(model_config(
            pre_name, "", [("image", "TYPE_STRING", [])], [("pixels", "TYPE_FP32", pixel_dims)],
            triton, tensorrt=False, backend="python"))
        (public / "1").mkdir(parents=True, exist_ok=True)
        (public / "config.pbtxt").write_text(ensemble_config(name, pre_name, onnx_name, pixel_dims, classes, triton))
    (public / "labels.txt").write_text("\n".join(labels) + "\n")
    (public / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return Repository(root=root, model_dir=public, onnx_path=onnx_path, files=files)
