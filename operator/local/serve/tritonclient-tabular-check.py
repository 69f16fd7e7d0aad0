"""Talk to a table model's KServe v2 endpoint with NVIDIA's own client (tritonclient[http]).

``python tritonclient-tabular-check.py URL MODEL ROWS_JSON`` sends the rows (a JSON list of
``{feature: value}`` objects; null is a missing value) as one numpy array per feature, [N, 1], with the
binary tensor extension (the client's default: NaN travels as FP32), and prints the metadata and the
outputs as one JSON object.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.http as http


def main(url: str, model: str, rows: list[dict]) -> dict:
    client = http.InferenceServerClient(url=url.removeprefix("http://"))
    metadata = client.get_model_metadata(model)
    inputs = []
    for spec in metadata["inputs"]:
        name, datatype = spec["name"], spec["datatype"]
        values = [row.get(name) for row in rows]
        if datatype == "FP32":
            array = np.array([[np.nan if v is None else v] for v in values], dtype=np.float32)
        else:
            array = np.array([[("" if v is None else str(v)).encode()] for v in values], dtype=np.object_)
        tensor = http.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    result = client.infer(model, inputs)
    outputs = {o["name"]: result.as_numpy(o["name"]) for o in metadata["outputs"]}
    return {
        "metadata": metadata,
        "outputs": {k: ([x.decode() for x in v.reshape(-1)] if v.dtype == np.object_ else v.tolist()) for k, v in outputs.items()},
        "shapes": {k: list(v.shape) for k, v in outputs.items()},
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))) + "\n")
