"""Run a Triton Python-backend model (``<model dir>/<version>/model.py``) as Triton would, for the local
KServe v2 server: JSON lines in on stdin, JSON lines out on stdout, the model's own logs on stderr.

    python worker.py --model-dir REPO/MODEL --version 1 --config CONFIG_JSON [--instance N] [--kind CPU|GPU]

On start it imports model.py (with triton_python_backend_utils from this folder), calls
``TritonPythonModel.initialize(args)`` with Triton's arguments, and prints ``{"ready": true}`` (or
``{"fatal": "..."}`` and exits). Then, per line ``{"id": n, "requests": [{"inputs": [{"name", "datatype",
"shape", "data"}], "outputs": [names]}]}`` it calls ``execute`` once with all the requests and prints
``{"id": n, "responses": [{"outputs": [...]} | {"error": "..."}]}`` (or ``{"id": n, "error": "..."}`` when
execute raised). BYTES elements travel base64-encoded; numbers as flat lists. EOF on stdin: ``finalize``.
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import sys
import traceback
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triton_python_backend_utils as pb_utils  # noqa: E402

KSERVE_TO_NUMPY = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FP16": np.float16,
    "FP32": np.float32, "FP64": np.float64,
}


def to_tensor(raw: dict[str, Any]) -> pb_utils.Tensor:
    """A wire tensor → the numpy array Triton would hand the model."""
    shape = [int(d) for d in raw["shape"]]
    if raw["datatype"] == "BYTES":
        array = np.array([base64.b64decode(x) for x in raw["data"]], dtype=np.object_).reshape(shape)
    else:
        array = np.asarray(raw["data"], dtype=KSERVE_TO_NUMPY[raw["datatype"]]).reshape(shape)
    return pb_utils.Tensor(raw["name"], array)


def kserve_datatype(array: np.ndarray) -> str:
    if array.dtype == np.object_ or array.dtype.kind in ("S", "U"):
        return "BYTES"
    for name, dtype in KSERVE_TO_NUMPY.items():
        if array.dtype == dtype:
            return name
    raise TypeError(f"output dtype {array.dtype} has no KServe v2 datatype")


def from_tensor(tensor: pb_utils.Tensor) -> dict[str, Any]:
    """A model's output tensor → the wire format."""
    array = tensor.as_numpy()
    datatype = kserve_datatype(array)
    if datatype == "BYTES":
        flat = [x if isinstance(x, bytes) else str(x).encode("utf-8") for x in array.reshape(-1)]
        data: list[Any] = [base64.b64encode(x).decode("ascii") for x in flat]
    else:
        data = array.reshape(-1).tolist()
    return {"name": tensor.name(), "datatype": datatype, "shape": list(array.shape), "data": data}


def load_model(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("model", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TritonPythonModel()


def answer(model: Any, message: dict[str, Any]) -> dict[str, Any]:
    requests = [pb_utils.InferenceRequest([to_tensor(t) for t in r["inputs"]], list(r.get("outputs", [])), str(r.get("id", "")))
                for r in message["requests"]]
    try:
        responses = model.execute(requests)
    except Exception as error:  # noqa: BLE001 - execute failing fails every request of the batch, as in Triton
        traceback.print_exc(file=sys.stderr)
        return {"id": message["id"], "error": f"{type(error).__name__}: {error}"}
    if not isinstance(responses, list) or len(responses) != len(requests):
        return {"id": message["id"], "error": f"execute returned {len(responses) if isinstance(responses, list) else type(responses).__name__} responses for {len(requests)} requests"}
    out = []
    for request, response in zip(requests, responses):
        if response.has_error():
            out.append({"error": response.error().message()})
            continue
        wanted = set(request.requested_output_names())
        out.append({"outputs": [from_tensor(t) for t in response.output_tensors() if not wanted or t.name() in wanted]})
    return {"id": message["id"], "responses": out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--version", default="1")
    parser.add_argument("--config", required=True, help="the model configuration as JSON (config.pbtxt read as Triton reads it)")
    parser.add_argument("--instance", type=int, default=0)
    parser.add_argument("--kind", default="CPU")
    args = parser.parse_args()
    # Only the protocol goes to stdout: whatever the model prints goes to the log.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    config = json.loads(args.config)
    model_dir = os.path.abspath(args.model_dir)
    try:
        model = load_model(os.path.join(model_dir, args.version, "model.py"))
        if hasattr(model, "initialize"):
            model.initialize({
                "model_config": json.dumps(config), "model_instance_kind": args.kind.upper(),
                "model_instance_name": f"{config.get('name', 'model')}_{args.instance}", "model_instance_device_id": "0",
                "model_repository": model_dir, "model_version": args.version, "model_name": config.get("name", os.path.basename(model_dir)),
            })
    except Exception as error:  # noqa: BLE001 - any failure to load is reported to the server
        traceback.print_exc(file=sys.stderr)
        protocol.write(json.dumps({"fatal": f"{type(error).__name__}: {error}"}) + "\n")
        return 1
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        protocol.write(json.dumps(answer(model, message)) + "\n")
    if hasattr(model, "finalize"):
        model.finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main())
