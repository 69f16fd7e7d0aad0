"""The conversion job's spec: defaults, loading and JSON Schema validation.

The TypeScript zod schema in ``agents/jobs/convert-spec.ts`` is the source of truth; its generated JSON
Schema is validated here when it can be found (see :func:`find_schema`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_FILE = "convert-spec.schema.json"


@dataclass(frozen=True)
class ParitySpec:
    """Limits of the parity check between the trained model and its ONNX export."""

    max_abs_prob_diff: float = 1e-4
    min_label_agreement: float = 0.999
    max_rows: int = 500


@dataclass(frozen=True)
class TritonSpec:
    """Serving configuration written into config.pbtxt."""

    instances: int = 1
    max_batch_size: int = 32
    queue_delay_us: int = 500
    accelerator: str = "cpu"


@dataclass(frozen=True)
class BenchmarkSpec:
    """Bounds of the onnxruntime benchmark sweep."""

    batch_sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    concurrencies: tuple[int, ...] = (1, 2, 4, 8)
    seconds_per_point: float = 1.0
    max_requests_per_point: int = 20000
    intra_op_threads: int = 1


@dataclass(frozen=True)
class ConvertSpec:
    """Everything the conversion job needs; paths are absolute or relative to the working directory."""

    model_dir: str
    model_name: str
    data_dir: str | None = None
    precisions: tuple[str, ...] = ("int8",)
    max_accuracy_drop: float = 0.01
    tensorrt: bool = True
    parity: ParitySpec = field(default_factory=ParitySpec)
    triton: TritonSpec = field(default_factory=TritonSpec)
    benchmark: BenchmarkSpec = field(default_factory=BenchmarkSpec)
    seed: int = 0


def find_schema() -> Path | None:
    """Locate the generated JSON Schema: ``$TRAINER_AGENT_SCHEMA_DIR`` first, then the package's schemas."""
    candidates: list[Path] = []
    env = os.environ.get("TRAINER_AGENT_SCHEMA_DIR")
    if env:
        candidates.append(Path(env) / SCHEMA_FILE)
    package = Path(__file__).resolve().parent.parent
    candidates += [package / "schemas" / SCHEMA_FILE, package.parent / "schemas" / SCHEMA_FILE]
    return next((p for p in candidates if p.is_file()), None)


def validate(raw: dict[str, Any]) -> str | None:
    """Validate ``raw`` against the generated schema; return the schema path used, or None when absent."""
    schema_path = find_schema()
    if schema_path is None:
        return None
    import jsonschema

    schema = json.loads(schema_path.read_text())
    jsonschema.validate(raw, schema)
    return str(schema_path)


def _positive_ints(values: Any, name: str) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if not out or any(v < 1 for v in out):
        raise ValueError(f"{name} must be a non-empty list of positive integers")
    return out


def parse(raw: dict[str, Any]) -> ConvertSpec:
    """Turn the spec's JSON (camelCase, as zod writes it) into a :class:`ConvertSpec` with defaults."""
    if not isinstance(raw.get("modelDir"), str) or not raw["modelDir"]:
        raise ValueError("spec.modelDir is required")
    name = raw.get("modelName")
    if not isinstance(name, str) or not name:
        raise ValueError("spec.modelName is required")
    p = raw.get("parity") or {}
    t = raw.get("triton") or {}
    b = raw.get("benchmark") or {}
    d_p, d_t, d_b = ParitySpec(), TritonSpec(), BenchmarkSpec()
    triton = TritonSpec(
        instances=int(t.get("instances", d_t.instances)),
        max_batch_size=int(t.get("maxBatchSize", d_t.max_batch_size)),
        queue_delay_us=int(t.get("queueDelayUs", d_t.queue_delay_us)),
        accelerator=str(t.get("accelerator", d_t.accelerator)),
    )
    if triton.instances < 1 or triton.max_batch_size < 1 or triton.queue_delay_us < 0:
        raise ValueError("triton.instances and triton.maxBatchSize must be >= 1, queueDelayUs >= 0")
    precisions = tuple(str(x) for x in raw.get("precisions", ("int8",)))
    unknown = [x for x in precisions if x not in ("int8", "fp16")]
    if unknown:
        raise ValueError(f"unknown precisions {unknown}: use int8 and/or fp16")
    return ConvertSpec(
        model_dir=raw["modelDir"],
        model_name=name,
        data_dir=raw.get("dataDir"),
        precisions=precisions,
        max_accuracy_drop=float(raw.get("maxAccuracyDrop", 0.01)),
        tensorrt=bool(raw.get("tensorrt", True)),
        parity=ParitySpec(
            max_abs_prob_diff=float(p.get("maxAbsProbDiff", d_p.max_abs_prob_diff)),
            min_label_agreement=float(p.get("minLabelAgreement", d_p.min_label_agreement)),
            max_rows=int(p.get("maxRows", d_p.max_rows)),
        ),
        triton=triton,
        benchmark=BenchmarkSpec(
            batch_sizes=_positive_ints(b.get("batchSizes", d_b.batch_sizes), "benchmark.batchSizes"),
            concurrencies=_positive_ints(b.get("concurrencies", d_b.concurrencies), "benchmark.concurrencies"),
            seconds_per_point=float(b.get("secondsPerPoint", d_b.seconds_per_point)),
            max_requests_per_point=int(b.get("maxRequestsPerPoint", d_b.max_requests_per_point)),
            intra_op_threads=int(b.get("intraOpThreads", d_b.intra_op_threads)),
        ),
        seed=int(raw.get("seed", 0)),
    )


def load(path: str | Path) -> tuple[ConvertSpec, str | None]:
    """Read, validate (when the schema exists) and parse a spec file; returns the spec and the schema used."""
    raw = json.loads(Path(path).read_text())
    if not isinstance(raw, dict):
        raise ValueError("the spec must be a JSON object")
    schema = validate(raw)
    return parse(raw), schema
