"""A small stand-in for Triton's ``triton_python_backend_utils`` module, so that a Python-backend
``model.py`` written for Triton runs unchanged under the local KServe v2 server (worker.py).

It covers what models use to read requests and answer them: ``Tensor``, ``InferenceRequest``,
``InferenceResponse``, ``TritonError``, ``TritonModelException``, ``get_input_tensor_by_name``,
``get_output_tensor_by_name``, ``get_output_config_by_name``, ``triton_string_to_numpy`` and ``Logger``.
Not covered (a model that calls them fails with a clear AttributeError): BLS requests to other models,
decoupled response senders, DLPack and GPU tensors.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

_NUMPY_OF_TRITON = {
    "TYPE_BOOL": np.bool_, "TYPE_UINT8": np.uint8, "TYPE_UINT16": np.uint16, "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64, "TYPE_INT8": np.int8, "TYPE_INT16": np.int16, "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64, "TYPE_FP16": np.float16, "TYPE_FP32": np.float32, "TYPE_FP64": np.float64,
    "TYPE_STRING": np.object_,
}


def triton_string_to_numpy(triton_type: str) -> Any:
    """The numpy dtype of a config.pbtxt data type (``TYPE_STRING`` → object arrays of bytes)."""
    return _NUMPY_OF_TRITON[triton_type]


class TritonError(Exception):
    """An error a model returns in an InferenceResponse (the request fails, the model stays up)."""

    def __init__(self, msg: str, code: int | None = None) -> None:
        super().__init__(msg)
        self._msg, self._code = msg, code

    def message(self) -> str:
        return self._msg

    def code(self) -> int | None:
        return self._code


class TritonModelException(Exception):
    """Raised by the backend for misuse (e.g. an unknown tensor)."""


class Tensor:
    """A named numpy array, as Triton hands inputs over and takes outputs back."""

    def __init__(self, name: str, array: Any) -> None:
        self._name = name
        self._array = np.asarray(array)

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array

    def shape(self) -> list[int]:
        return list(self._array.shape)

    def is_cpu(self) -> bool:
        return True


class InferenceRequest:
    """One client request: its input tensors and the outputs it asks for."""

    def __init__(self, inputs: list[Tensor], requested_output_names: list[str], request_id: str = "") -> None:
        self._inputs = inputs
        self._requested = requested_output_names
        self._id = request_id

    def inputs(self) -> list[Tensor]:
        return list(self._inputs)

    def requested_output_names(self) -> list[str]:
        return list(self._requested)

    def request_id(self) -> str:
        return self._id


class InferenceResponse:
    """A model's answer to one request: output tensors, or an error."""

    def __init__(self, output_tensors: list[Tensor] | None = None, error: TritonError | None = None) -> None:
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self) -> list[Tensor]:
        return list(self._outputs)

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error


def get_input_tensor_by_name(request: InferenceRequest, name: str) -> Tensor | None:
    """The request's input called ``name``; None when an optional input was not sent."""
    return next((t for t in request.inputs() if t.name() == name), None)


def get_output_tensor_by_name(response: InferenceResponse, name: str) -> Tensor | None:
    return next((t for t in response.output_tensors() if t.name() == name), None)


def get_output_config_by_name(model_config: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``output`` entry of the model configuration called ``name`` ({} when there is none)."""
    return next((o for o in model_config.get("output", []) if o.get("name") == name), {})


def get_input_config_by_name(model_config: dict[str, Any], name: str) -> dict[str, Any]:
    return next((o for o in model_config.get("input", []) if o.get("name") == name), {})


class Logger:
    """Triton's model logger: lines go to the server's log (stderr of the worker)."""

    @staticmethod
    def log(message: str, level: str = "INFO") -> None:
        sys.stderr.write(f"[{level}] {message}\n")
        sys.stderr.flush()

    @classmethod
    def log_info(cls, message: str) -> None:
        cls.log(message, "INFO")

    @classmethod
    def log_warn(cls, message: str) -> None:
        cls.log(message, "WARNING")

    @classmethod
    def log_error(cls, message: str) -> None:
        cls.log(message, "ERROR")

    @classmethod
    def log_verbose(cls, message: str) -> None:
        cls.log(message, "VERBOSE")
