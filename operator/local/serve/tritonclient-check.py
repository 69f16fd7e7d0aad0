"""Talk to a KServe v2 server with NVIDIA's own client (tritonclient[http]), as a Triton user would.

``python tritonclient-check.py URL MODEL TEXT...`` prints one JSON object: the model metadata, and the
labels and probabilities of an inference sent with the binary tensor extension (the client's default),
then the same request with JSON outputs.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.http as http


def main(url: str, model: str, texts: list[str]) -> dict:
    client = http.InferenceServerClient(url=url.removeprefix("http://"))
    metadata = client.get_model_metadata(model)
    config = client.get_model_config(model)
    rows = np.array([[t.encode()] for t in texts], dtype=np.object_)
    text = http.InferInput("text", list(rows.shape), "BYTES")
    text.set_data_from_numpy(rows)  # binary_data=True: the binary tensor extension
    binary = client.infer(model, [text])
    as_json = client.infer(model, [text], outputs=[http.InferRequestedOutput("label", binary_data=False),
                                                   http.InferRequestedOutput("probabilities", binary_data=False)])
    return {
        "ready": client.is_model_ready(model),
        "metadata": metadata,
        "maxBatchSize": config["max_batch_size"],
        "binary": {"label": [x.decode() for x in binary.as_numpy("label").reshape(-1)],
                   "labelShape": list(binary.as_numpy("label").shape),
                   "probabilities": binary.as_numpy("probabilities").tolist()},
        "json": {"label": [x.decode() if isinstance(x, bytes) else x for x in as_json.as_numpy("label").reshape(-1)],
                 "probabilities": as_json.as_numpy("probabilities").tolist()},
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3:])) + "\n")
