"""Converting a table model: one ONNX graph with one named input per feature, parity, Triton repository.

The whole pipeline (column preprocessing and the model) is exported with skl2onnx, LightGBM boosters
through onnxmltools' converter. Every feature is its own graph input of shape [N, 1]: FP32 for a
numeric feature (NaN when missing), a string for a categorical one ("" when missing), named as in the
model's manifest; Triton's config.pbtxt lists them the same way (``dims: [ 1 ]`` under
``max_batch_size``, so clients send [N, 1]). Classifiers answer ``label`` and ``probabilities``,
regressors ``prediction`` (FP32 [N, 1]). Tree ensembles and small linear models have nothing INT8 or
FP16 would shrink and run on ONNX Runtime's CPU kernels, so tables are served in FP32 on the CPU.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx

from ..common.records import from_row
from ..common.table_features import MISSING_CATEGORY, feature_frame
from ..train.tabular import TableSchema, quiet_feature_names, schema_from_manifest
from .export import ML_DOMAIN, _rename_io, ensure_string_labels, label_names, normalise_outputs
from .manifest import ModelManifest
from .parity import Parity, Predictions, accuracy, compare
from .rows import find_splits
from .spec import ConvertSpec, TritonSpec
from .triton import model_config

PREDICTION = "prediction"
DATATYPES = {"numeric": "FP32", "categorical": "BYTES"}
TRITON_TYPES = {"numeric": "TYPE_FP32", "categorical": "TYPE_STRING"}
SYNTHETIC_ROWS = 64

_registered = False


def register_lightgbm() -> None:
    """Teach skl2onnx LightGBM's estimators (onnxmltools' converter), once per process."""
    global _registered
    if _registered:
        return
    import lightgbm as lgb
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes, calculate_linear_regressor_output_shapes

    update_registered_converter(lgb.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes,
                                convert_lightgbm, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    update_registered_converter(lgb.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes,
                                convert_lightgbm, options={"split": None})
    _registered = True


@dataclass
class TableExport:
    """The exported graph, the schema it takes, and the trained pipeline it must agree with."""

    model: onnx.ModelProto
    schema: TableSchema
    labels: list[str]
    pipeline: Any

    @property
    def regression(self) -> bool:
        """Whether the model answers a number."""
        return self.schema.regression

    def feed(self, frame: Any) -> dict[str, np.ndarray]:
        """A frame of rows as the graph's inputs: one [N, 1] tensor per feature."""
        out: dict[str, np.ndarray] = {}
        for name, kind in self.schema.features:
            column = frame[name].to_numpy()
            out[name] = (column.astype(np.float32) if kind == "numeric" else column.astype(object)).reshape(-1, 1)
        return out

    def reference(self, frame: Any) -> np.ndarray:
        """The trained pipeline's numbers (regression) or class probabilities."""
        with quiet_feature_names():
            if self.regression:
                return np.asarray(self.pipeline.predict(frame), dtype=np.float64)
            return np.asarray(self.pipeline.predict_proba(frame), dtype=np.float64)


def export_table(manifest: ModelManifest, model_dir: Path) -> TableExport:
    """skl2onnx over the whole pipeline with one input per feature; outputs named for serving."""
    import joblib
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    register_lightgbm()
    schema = schema_from_manifest(manifest.raw)
    pipeline = joblib.load(model_dir / manifest.files.get("model", "model.joblib"))
    final = pipeline.steps[-1][1]
    initial = [(name, FloatTensorType([None, 1]) if kind == "numeric" else StringTensorType([None, 1]))
               for name, kind in schema.features]
    options = {} if schema.regression else {id(final): {"zipmap": False}}
    model = convert_sklearn(pipeline, initial_types=initial, options=options, target_opset={"": 17, ML_DOMAIN: 3})
    if schema.regression:
        _rename_io(model, model.graph.output[0].name, PREDICTION)
        return TableExport(model, schema, [], pipeline)
    classes = list(pipeline.classes_)
    names = label_names(classes, manifest.labels)
    normalise_outputs(model)
    ensure_string_labels(model, classes, names)
    return TableExport(model, schema, names, pipeline)


@dataclass
class TableRows:
    """Held-out rows: the raw JSON rows, their labels, and the frame the models take."""

    raw: list[dict[str, Any]]
    labels: list[str | None]
    frame: Any
    source: str


def load_table_rows(schema: TableSchema, data_dir: str | None, limit: int, seed: int) -> TableRows:
    """Up to ``limit`` held-out rows of the data job's output, or synthetic rows (labels unknown) without data."""
    splits = find_splits(data_dir) if data_dir else []
    raw: list[dict[str, Any]] = []
    for split in splits:
        with split.open(encoding="utf-8") as handle:
            raw += [json.loads(line) for line in handle if line.strip()]
    raw = raw[:limit]
    if not raw:
        rng = np.random.default_rng(seed)
        raw = [{"features": {name: (float(rng.normal()) if kind == "numeric" else MISSING_CATEGORY)
                             for name, kind in schema.features}} for _ in range(SYNTHETIC_ROWS)]
        source = "synthetic"
    else:
        source = str(splits[0]) if len(splits) == 1 else f"{len(splits)} cross-validation test folds under {splits[0].parent.parent}"
    records = [from_row(row, "parity", i) for i, row in enumerate(raw)]
    return TableRows(raw, [r.label for r in records], feature_frame(records, schema.features), source)


def session(model: onnx.ModelProto) -> Any:
    """An onnxruntime CPU session over the model."""
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def onnx_outputs(exported: TableExport, frame: Any, batch: int = 256) -> tuple[list[str], np.ndarray]:
    """The graph's labels (classification) and its probabilities, or its numbers (regression, labels empty)."""
    run = session(exported.model)
    labels: list[str] = []
    values: list[np.ndarray] = []
    for start in range(0, len(frame), batch):
        feed = exported.feed(frame.iloc[start:start + batch])
        if exported.regression:
            values.append(np.asarray(run.run([PREDICTION], feed)[0], dtype=np.float64).reshape(-1))
        else:
            label, probabilities = run.run(["label", "probabilities"], feed)
            labels += [x.decode() if isinstance(x, bytes) else str(x) for x in label.reshape(-1)]
            values.append(np.asarray(probabilities, dtype=np.float64))
    empty = np.zeros((0,)) if exported.regression else np.zeros((0, len(exported.labels)))
    return labels, np.concatenate(values) if values else empty


def regression_parity(reference: np.ndarray, candidate: np.ndarray, relative: float, min_agreement: float) -> dict[str, Any]:
    """Predictions agree when |Δ| ≤ ``relative`` × max(1, |reference|) (float32 trees sum in another order)."""
    if len(reference) == 0:
        return {"rows": 0, "maxAbsProbDiff": 0.0, "labelAgreement": 1.0, "passed": True,
                "prediction": {"maxAbsDiff": 0.0, "maxRelDiff": 0.0, "tolerance": relative}}
    diff = np.abs(reference - candidate)
    scaled = diff / np.maximum(1.0, np.abs(reference))
    agreement = float(np.mean(scaled <= relative))
    return {"rows": int(len(reference)), "maxAbsProbDiff": 0.0, "labelAgreement": agreement, "passed": agreement >= min_agreement,
            "prediction": {"maxAbsDiff": float(diff.max()), "maxRelDiff": float(scaled.max()), "tolerance": relative}}


def table_parity(exported: TableExport, rows: TableRows, spec: ConvertSpec) -> tuple[dict[str, Any], np.ndarray, list[str]]:
    """Parity of the graph with the trained pipeline on the held-out rows; returns it with the reference
    predictions and the graph's labels."""
    reference = exported.reference(rows.frame)
    labels, candidate = onnx_outputs(exported, rows.frame)
    if exported.regression:
        return regression_parity(reference, candidate, spec.parity.max_abs_prob_diff, spec.parity.min_label_agreement), reference, labels
    names = [exported.labels[int(i)] for i in reference.argmax(axis=1)] if len(reference) else []
    parity: Parity = compare(Predictions(names, reference), Predictions(labels, candidate),
                             spec.parity.max_abs_prob_diff, spec.parity.min_label_agreement)
    return parity.to_json(), reference, labels


@dataclass
class TableRepository:
    """What the conversion wrote for serving."""

    root: Path
    model_dir: Path
    onnx_path: Path
    files: list[str]
    model_bytes: int


def feature_descriptions(schema: TableSchema) -> list[dict[str, str]]:
    """Each served input: name, datatype (FP32 or BYTES), kind and the source column it comes from."""
    return [{"name": name, "datatype": DATATYPES[kind], "kind": kind, "column": schema.columns.get(name, name)}
            for name, kind in schema.features]


def write_table_repository(root: Path, name: str, exported: TableExport, triton: TritonSpec) -> TableRepository:
    """``root/<name>/``: config.pbtxt (one input per feature), 1/model.onnx, labels.txt and preprocessing.json."""
    if root.exists():
        shutil.rmtree(root)
    folder = root / name
    (folder / "1").mkdir(parents=True)
    onnx_path = folder / "1" / "model.onnx"
    onnx.save(exported.model, str(onnx_path))
    inputs = [(n, TRITON_TYPES[k], [1]) for n, k in exported.schema.features]
    outputs = ([(PREDICTION, "TYPE_FP32", [1])] if exported.regression
               else [("label", "TYPE_STRING", []), ("probabilities", "TYPE_FP32", [len(exported.labels)])])
    (folder / "config.pbtxt").write_text(model_config(name, "onnxruntime_onnx", inputs, outputs, triton, tensorrt=False))
    (folder / "labels.txt").write_text("".join(f"{label}\n" for label in exported.labels))
    meta = {"kind": "tabular", "task": "regression" if exported.regression else "classification",
            "features": feature_descriptions(exported.schema), "labels": exported.labels, "model": name, "onnxModel": name,
            "maxBatchSize": triton.max_batch_size, "queueDelayUs": triton.queue_delay_us, "instances": triton.instances,
            "missing": {"FP32": "NaN (binary tensor data; JSON has no NaN)", "BYTES": '"" (empty string)'}}
    (folder / "preprocessing.json").write_text(json.dumps(meta, indent=2) + "\n")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return TableRepository(root, folder, onnx_path, files, onnx_path.stat().st_size)


def reference_rows(rows: TableRows, exported: TableExport, reference: np.ndarray) -> list[dict[str, Any]]:
    """The trained model's answers on the held-out rows, with the rows' feature values (what clients send)."""
    out = []
    for i, raw in enumerate(rows.raw):
        item: dict[str, Any] = {"index": i, "features": raw.get("features", {}), "truth": rows.labels[i]}
        if exported.regression:
            item[PREDICTION] = float(reference[i])
        else:
            item["label"] = exported.labels[int(reference[i].argmax())]
            item["probabilities"] = [float(p) for p in reference[i]]
        out.append(item)
    return out


def example_row(rows: list[dict[str, Any]], schema: TableSchema) -> dict[str, Any]:
    """The API document's example: the first held-out row with every number present (JSON carries no NaN)."""
    numeric = [name for name, kind in schema.features if kind == "numeric"]
    complete = (r for r in rows if all(r["features"].get(n) is not None for n in numeric))
    return next(complete, rows[0] if rows else {})


def benchmark_inputs(exported: TableExport, frame: Any, work: Path) -> Path:
    """The rows as one array per feature (``.npz``) for the benchmark process."""
    path = work / "bench-inputs.npz"
    arrays = {name: (values.astype(np.float32) if values.dtype != object else values.astype(str))
              for name, values in exported.feed(frame).items()}
    np.savez(path, **arrays)
    return path


def convert_table(spec: ConvertSpec, manifest: ModelManifest, model_dir: Path, out: Path, progress: Callable[..., None],
                  notes: list[str], started: float,
                  benchmark: Callable[[ConvertSpec, Path, str, Path], dict[str, Any]],
                  profile: Callable[[dict[str, Any], ConvertSpec], dict[str, Any]]) -> dict[str, Any]:
    """Export, parity, repository, reference predictions and benchmark of a table model; result.json's body."""
    exported = export_table(manifest, model_dir)
    timings: dict[str, float] = {"exportSeconds": round(time.monotonic() - started, 3)}
    rows = load_table_rows(exported.schema, spec.data_dir, spec.parity.max_rows, spec.seed)
    if rows.source == "synthetic":
        notes.append("no held-out split found: parity checked on synthetic inputs, accuracy unavailable")
    progress("parity", f"Checking parity on {len(rows.raw)} rows from {rows.source}")
    parity, reference, onnx_labels = table_parity(exported, rows, spec)
    if not parity["passed"]:
        detail = (f"max relative difference {parity['prediction']['maxRelDiff']:.2e}" if exported.regression
                  else f"max |dp| {parity['maxAbsProbDiff']:.2e}")
        return {"kind": "error", "job": "convert", "error": f"parity check failed: {detail} (limit {spec.parity.max_abs_prob_diff:.2e}), "
                f"agreement {parity['labelAgreement']:.4f} (minimum {spec.parity.min_label_agreement:.4f})"}
    triton = dataclasses.replace(spec.triton, accelerator="cpu")
    if spec.triton.accelerator != "cpu":
        notes.append("tables are served on the CPU: ONNX Runtime runs tree ensembles and encoders with CPU kernels only")
    notes.append("serving FP32: tree ensembles and linear models on a few features have no weights INT8 or FP16 would shrink")
    progress("repository", "Writing Triton model repository")
    repo = write_table_repository(out / "model-repository", spec.model_name, exported, triton)
    ref_path = out / "reference-predictions.jsonl"
    ref_rows = reference_rows(rows, exported, reference)
    ref_path.write_text("".join(json.dumps(r) + "\n" for r in ref_rows))
    progress("benchmark", "Benchmarking with onnxruntime")
    bench_started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        bench = benchmark(dataclasses.replace(spec, triton=triton), repo.onnx_path, "features", benchmark_inputs(exported, rows.frame, Path(tmp)))
    timings["benchmarkSeconds"] = round(time.monotonic() - bench_started, 3)
    reference_labels = [] if exported.regression else [exported.labels[int(p.argmax())] for p in reference]
    example = {k: v for k, v in example_row(ref_rows, exported.schema).items() if k != "index"}
    return {
        "kind": "convert", "ok": True, "modelName": spec.model_name, "framework": manifest.framework, "task": manifest.task,
        "modality": "tabular", "inputName": "features", "labels": exported.labels,
        "rows": {"source": rows.source, "count": len(rows.raw)}, "parity": parity, "notes": notes,
        "precision": "fp32", "runtime": "onnxruntime",
        "tensorrt": {"available": False, "note": "tables: ONNX Runtime on the CPU (TensorRT does not run tree ensembles)"},
        "accuracy": {"onnx": None if exported.regression else accuracy(onnx_labels, rows.labels),
                     "reference": None if exported.regression else accuracy(reference_labels, rows.labels)},
        "variants": [], "format": "onnx", "modelBytes": repo.model_bytes, "repositoryDir": str(repo.root),
        "modelDir": str(repo.model_dir), "onnxPath": str(repo.onnx_path), "repositoryFiles": repo.files,
        "referencePredictions": str(ref_path),
        "triton": {"instances": triton.instances, "maxBatchSize": triton.max_batch_size, "queueDelayUs": triton.queue_delay_us,
                   "accelerator": triton.accelerator},
        "benchmark": bench, "profile": profile(bench, spec), "timings": timings,
        "tabular": {"task": "regression" if exported.regression else "classification",
                    "features": feature_descriptions(exported.schema), "example": example},
        "durationSeconds": round(time.monotonic() - started, 3),
    }
