"""Triton model repositories of box models (the local server reads the same files).

Grounding is an ensemble named after the model: BYTES ``image`` (base64 PNG/JPEG) and ``query`` →
``<model>_preprocess`` (Python backend: the shared image preprocessing, the model's tokenizer.json, each
image's width and height) → ``<model>_onnx`` (ONNX Runtime, dynamic batching) → ``boxes`` [4] and
``scores`` per row.

Detection's ONNX graph takes one image per run, so the public model is a Python-backend model that
decodes and preprocesses each image of a batch, runs ``<model>_onnx`` on it through Triton's business
logic scripting (BLS), names the labels and returns ``boxes`` [K, 4], ``labels`` [K], ``scores`` [K] and
``count`` per image (K = the model's maximum detections; padded rows have score 0 and label "").

As everywhere in the repository, a batched scalar is ``dims: [ 1 ]`` with ``reshape: { shape: [ ] }``: a
client sends N rows as [N, 1] and gets per-row scalars (scores, count) as [N, 1].
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import onnx

from .spec import TritonSpec
from .triton import Repository, model_config, write_python_model

GROUNDING_PREPROCESS = '''"""Triton Python backend: base64 BYTES ``image`` and BYTES ``query`` -> the grounding graph's inputs (written by the converter)."""
import base64
import io
import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from image_preprocessing import preprocess  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        with open(os.path.join(HERE, "preprocessing.json")) as fh:
            self.spec = json.load(fh)
        self.tokenizer = Tokenizer.from_file(os.path.join(HERE, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(self.spec["maxLength"]))

    def execute(self, requests):
        from PIL import Image

        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "image").as_numpy().reshape(-1)
            queries = pb_utils.get_input_tensor_by_name(request, "query").as_numpy().reshape(-1)
            try:
                blobs = [base64.b64decode(x, validate=True) for x in images]
                pixels = np.stack([preprocess(b, self.spec["image"]) for b in blobs]).astype(np.float32)
                sizes = []
                for b in blobs:
                    with Image.open(io.BytesIO(b)) as image:
                        sizes.append([float(image.width), float(image.height)])
                texts = [q.decode("utf-8") if isinstance(q, bytes) else str(q) for q in queries]
                encodings = self.tokenizer.encode_batch(texts)
                longest = max([1] + [len(e.ids) for e in encodings])
                ids = np.zeros((len(texts), longest), dtype=np.int64)
                mask = np.zeros((len(texts), longest), dtype=np.int64)
                for i, e in enumerate(encodings):
                    ids[i, : len(e.ids)] = e.ids
                    mask[i, : len(e.ids)] = 1
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor("pixel_values", pixels), pb_utils.Tensor("input_ids", ids),
                    pb_utils.Tensor("attention_mask", mask), pb_utils.Tensor("image_size", np.asarray(sizes, dtype=np.float32))]))
            except Exception as exc:  # a bad image fails its own request, not the batch
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(f"invalid input: {exc}")))
        return responses
'''

DETECTION_MODEL = '''"""Triton Python backend: base64 BYTES ``image`` -> boxes, labels, scores, count (written by the converter).

Each image is preprocessed with the shared image preprocessing and run through the ONNX member with a BLS
request (the detector's graph takes one image per run); results are padded to K detections.
"""
import base64
import io
import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from image_preprocessing import preprocess  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        with open(os.path.join(HERE, "preprocessing.json")) as fh:
            self.spec = json.load(fh)
        self.labels = np.asarray([""] + list(self.spec["labels"]), dtype=object)

    def detect(self, blob):
        from PIL import Image

        with Image.open(io.BytesIO(blob)) as image:
            size = np.asarray([[image.width, image.height]], dtype=np.float32)
        pixels = preprocess(blob, self.spec["image"])[None].astype(np.float32)
        request = pb_utils.InferenceRequest(model_name=self.spec["onnxModel"], requested_output_names=["boxes", "scores", "labels", "count"],
                                            inputs=[pb_utils.Tensor("pixels", pixels), pb_utils.Tensor("image_size", size)])
        response = request.exec()
        if response.has_error():
            raise RuntimeError(response.error().message())
        out = {name: pb_utils.get_output_tensor_by_name(response, name).as_numpy() for name in ("boxes", "scores", "labels", "count")}
        return out["boxes"][0], out["scores"][0], self.labels[out["labels"][0].astype(np.int64)], np.int32(out["count"][0])

    def execute(self, requests):
        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "image").as_numpy().reshape(-1)
            try:
                found = [self.detect(base64.b64decode(x, validate=True)) for x in images]
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor("boxes", np.stack([f[0] for f in found]).astype(np.float32)),
                    pb_utils.Tensor("labels", np.stack([f[2] for f in found]).astype(object)),
                    pb_utils.Tensor("scores", np.stack([f[1] for f in found]).astype(np.float32)),
                    pb_utils.Tensor("count", np.asarray([f[3] for f in found], dtype=np.int32))]))
            except Exception as exc:  # a bad image fails its own request, not the batch
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(f"invalid image: {exc}")))
        return responses
'''


def grounding_ensemble_config(name: str, size: int, triton: TritonSpec) -> str:
    """The public grounding model: (image, query) → preprocess → ONNX → (boxes, scores)."""
    head = model_config(name, "ensemble", [("image", "TYPE_STRING", []), ("query", "TYPE_STRING", [])],
                        [("boxes", "TYPE_FP32", [4]), ("scores", "TYPE_FP32", [])], triton, tensorrt=False, batching=False)
    tensors = ["pixel_values", "input_ids", "attention_mask", "image_size"]
    outputs = "".join(f'      output_map {{ key: "{t}" value: "{t}" }}\n' for t in tensors)
    inputs = "".join(f'      input_map {{ key: "{t}" value: "{t}" }}\n' for t in tensors)
    return head + (
        "ensemble_scheduling {\n  step [\n"
        f'    {{ model_name: "{name}_preprocess" model_version: -1\n'
        '      input_map { key: "image" value: "image" }\n'
        '      input_map { key: "query" value: "query" }\n'
        f"{outputs.rstrip()} }},\n"
        f'    {{ model_name: "{name}_onnx" model_version: -1\n'
        f"{inputs}"
        '      output_map { key: "boxes" value: "boxes" }\n'
        '      output_map { key: "scores" value: "scores" } }\n'
        "  ]\n}\n")


def write_box_repository(root: Path, name: str, kind: str, model: onnx.ModelProto, labels: list[str], image: dict[str, Any],
                         triton: TritonSpec, tensorrt: bool, tokenizer: Path | None, max_length: int | None, max_detections: int | None) -> Repository:
    """Write ``root/<name>/`` (ensemble or Python model) and ``root/<name>_onnx/`` (and the preprocessing member)."""
    if root.exists():
        shutil.rmtree(root)
    onnx_name = f"{name}_onnx"
    onnx_dir = root / onnx_name
    (onnx_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx_path = onnx_dir / "1" / "model.onnx"
    onnx.save(model, str(onnx_path))
    public = root / name
    (public / "1").mkdir(parents=True, exist_ok=True)
    preprocessing_py = Path(__file__).with_name("image_preprocessing.py")
    meta: dict[str, Any] = {"kind": kind, "model": name, "onnxModel": onnx_name, "image": image, "labels": labels,
                            "maxBatchSize": triton.max_batch_size, "queueDelayUs": triton.queue_delay_us, "instances": triton.instances}
    size = int(image["height"])
    if kind == "grounding":
        assert tokenizer is not None and max_length is not None
        meta.update(tokenizer="tokenizer.json", maxLength=max_length, batchingFrom=onnx_name)
        graph_inputs = [("pixel_values", "TYPE_FP32", [3, size, size]), ("input_ids", "TYPE_INT64", [-1]),
                        ("attention_mask", "TYPE_INT64", [-1]), ("image_size", "TYPE_FP32", [2])]
        (onnx_dir / "config.pbtxt").write_text(model_config(onnx_name, "onnxruntime_onnx", graph_inputs,
                                                            [("boxes", "TYPE_FP32", [4]), ("scores", "TYPE_FP32", [])], triton, tensorrt))
        write_python_model(root, f"{name}_preprocess", GROUNDING_PREPROCESS, meta, [preprocessing_py, tokenizer],
                      model_config(f"{name}_preprocess", "", [("image", "TYPE_STRING", []), ("query", "TYPE_STRING", [])], graph_inputs,
                                   triton, tensorrt=False, backend="python"))
        (public / "config.pbtxt").write_text(grounding_ensemble_config(name, size, triton))
        shutil.copy(tokenizer, public / "tokenizer.json")
    else:
        assert max_detections is not None
        k = max_detections
        meta.update(maxDetections=k, batchingFrom=name)
        unbatched = TritonSpec(instances=triton.instances, max_batch_size=0, queue_delay_us=0, accelerator=triton.accelerator)
        config = model_config(onnx_name, "onnxruntime_onnx", [("pixels", "TYPE_FP32", [1, 3, size, size]), ("image_size", "TYPE_FP32", [1, 2])],
                              [("boxes", "TYPE_FP32", [1, k, 4]), ("scores", "TYPE_FP32", [1, k]), ("labels", "TYPE_INT64", [1, k]),
                               ("count", "TYPE_INT64", [1])], unbatched, tensorrt, batching=False)
        (onnx_dir / "config.pbtxt").write_text(config)
        write_python_model(root, name, DETECTION_MODEL, meta, [preprocessing_py],
                      model_config(name, "", [("image", "TYPE_STRING", [])],
                                   [("boxes", "TYPE_FP32", [k, 4]), ("labels", "TYPE_STRING", [k]), ("scores", "TYPE_FP32", [k]),
                                    ("count", "TYPE_INT32", [])], triton, tensorrt=False, backend="python"))
        (onnx_dir / "labels.txt").write_text("\n".join(labels) + "\n")
    (public / "labels.txt").write_text("\n".join(labels) + ("\n" if labels else ""))
    (public / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    model_bytes = onnx_path.stat().st_size + (tokenizer.stat().st_size if tokenizer else 0)
    return Repository(root=root, model_dir=public, onnx_path=onnx_path, files=files, model_bytes=model_bytes)
