"""Secret-like words never reach a text model's vocabulary, so they are not in the exported ONNX graph."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_job


@pytest.mark.parametrize("word, secret", [
    ("discount", False), ("mp3", False), ("2024", False), ("covid19", False),
    ("5551234567", True), ("4111111111111111", True), ("sk4f9a8b7c6d5e4f3a2b", True),
    ("deadbeefcafebabe1234", True), ("internationalisation", False),
])
def test_secret_like(word: str, secret: bool) -> None:
    from trainer_agent_jobs.train.vocabulary import secret_like

    assert secret_like(word) is secret


def test_a_repeated_api_key_and_phone_number_are_not_in_the_exported_graph(tmp_path: Path) -> None:
    key, phone = "sk4f9a8b7c6d5e4f3a2b1c", "5551234567"
    rows = []
    for i in range(120):
        spam = i % 2 == 0
        text = (f"win a free prize now call {phone} key {key}" if spam else f"meeting notes for the team review {i % 7}")
        rows.append({"text": f"{text} item{i % 5}", "label": "spam" if spam else "ham"})
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = run_job("data", {"task": "text-classification", "modality": "text", "seed": 0, "operations": [],
                            "sources": [{"name": "rows", "uri": f"file://{tmp_path / 'rows.jsonl'}", "format": "jsonl"}]}, tmp_path / "data")
    assert data.code == 0, data.stderr[-2000:]
    model = {"id": "tfidf", "family": "sklearn-tfidf-logreg", "hyperparameters": {"ngramMax": 2, "minDf": 2}}
    trained = run_job("train", {"task": "text-classification", "modality": "text", "dataDir": str(data.out), "model": model,
                                "learningCurve": False}, tmp_path / "train")
    assert trained.code == 0, trained.stderr[-2000:]
    assert trained.result["training"]["vocabularyTermsRemoved"] >= 2
    converted = run_job("convert", {"modelDir": str(trained.out), "modelName": "m", "dataDir": str(data.out), "precisions": [],
                                    "benchmark": {"secondsPerPoint": 0.1, "batchSizes": [1], "concurrencies": [1]}}, tmp_path / "convert")
    assert converted.code == 0, converted.stderr[-2000:]
    graph = Path(converted.result["onnxPath"]).read_bytes()
    assert key.encode() not in graph and phone.encode() not in graph
    assert b"prize" in graph, "ordinary words stay"
    assert converted.result["accuracy"]["onnx"] == 1.0
