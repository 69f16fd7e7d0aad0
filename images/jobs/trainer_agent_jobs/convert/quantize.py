"""Reduced-precision variants (dynamic INT8, FP16) behind an accuracy gate."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import onnx

# Not Conv: dynamic quantization turns it into ConvInteger with int8 weights, which onnxruntime's CPU
# provider cannot run ("Could not find an implementation for ConvInteger(10)"); a CNN keeps FP32
# convolutions and gets an INT8 head.
QUANTIZABLE_OPS = {"MatMul", "Gemm", "Attention", "LSTM", "GRU", "EmbedLayerNormalization"}


@dataclass
class Variant:
    """One attempted precision and the gate's verdict."""

    precision: str
    accepted: bool
    reason: str
    accuracy: float | None = None
    size_bytes: int | None = None
    model: onnx.ModelProto | None = None

    def to_json(self) -> dict[str, Any]:
        """camelCase for result.json (the model itself is not serialised)."""
        return {"precision": self.precision, "accepted": self.accepted, "reason": self.reason,
                "accuracy": self.accuracy, "sizeBytes": self.size_bytes}


def int8_dynamic(model: onnx.ModelProto) -> tuple[onnx.ModelProto | None, str]:
    """Dynamic INT8 weight quantization with onnxruntime; None with a reason when nothing can be quantized."""
    ops = {n.op_type for n in model.graph.node}
    if not ops & QUANTIZABLE_OPS:
        return None, f"no quantizable operators (graph uses {', '.join(sorted(ops))}): INT8 would change nothing"
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(src))
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=sorted(QUANTIZABLE_OPS))
        return onnx.load(str(dst)), "dynamic INT8 weights (onnxruntime.quantization.quantize_dynamic)"


def fp16(model: onnx.ModelProto, accelerator: str) -> tuple[onnx.ModelProto | None, str]:
    """FP16 weights (inputs/outputs stay FP32); only worth it on a GPU."""
    if accelerator == "cpu":
        return None, "FP16 skipped: CPU kernels gain nothing from FP16"
    try:
        from onnxconverter_common import float16  # type: ignore[import-not-found]
    except ImportError:
        return None, "FP16 skipped: onnxconverter-common is not installed"
    return float16.convert_float_to_float16(model, keep_io_types=True), "FP16 weights (onnxconverter-common)"


def gate(precision: str, candidate: onnx.ModelProto | None, why: str, baseline_accuracy: float | None,
         max_drop: float, evaluate: Callable[[onnx.ModelProto], float | None]) -> Variant:
    """Accept a variant only if it exists and loses at most ``max_drop`` accuracy on labelled rows."""
    if candidate is None:
        return Variant(precision=precision, accepted=False, reason=why)
    size = len(candidate.SerializeToString())
    acc = evaluate(candidate)
    if baseline_accuracy is None or acc is None:
        return Variant(precision, False, f"{why}; rejected: no labelled rows to check accuracy", acc, size, candidate)
    drop = baseline_accuracy - acc
    if drop > max_drop:
        return Variant(precision, False, f"{why}; rejected: accuracy {acc:.4f} vs FP32 {baseline_accuracy:.4f} "
                       f"(drop {drop:.4f} > allowed {max_drop:.4f}), keeping FP32", acc, size, candidate)
    return Variant(precision, True, f"{why}; accuracy {acc:.4f} vs FP32 {baseline_accuracy:.4f} "
                   f"(drop {drop:.4f} <= allowed {max_drop:.4f})", acc, size, candidate)
