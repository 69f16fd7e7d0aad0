"""Versions of the packages that shape a result, recorded for lineage."""
from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("numpy", "scipy", "scikit-learn", "cleanlab", "skl2onnx", "onnx", "onnxruntime", "torch", "pillow")


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (absent ones omitted) plus the Python version."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
