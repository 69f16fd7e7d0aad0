"""The evaluation plan of box tasks: split by image, never by row.

A grounding image usually carries several queries, and a detection image many boxes: rows of one image
in both the training and the test part would let the model be scored on a picture it learned from. The
plan therefore groups rows by image *content* (so a copy of a picture under another name is the same
group): a locked test part of whole images (a given test source, or a grouped split of
``test_fraction``), or, when that part would be smaller than ``min_holdout_rows``, grouped k-fold
cross-validation over every labelled row. It writes what evaluation.py writes (``evaluation.json`` and
the views' splits), so the train job reads both the same way.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from ..common.boxes import BoxRow
from ..common.jsonl import write_jsonl
from .evaluation import FINAL, EvaluationPlan, View


BoxView = View[BoxRow]
"""What one fit learns from (``train``) and is scored on (``test``); box tasks have no unlabelled rows."""
BoxPlan = EvaluationPlan[BoxRow]
"""``holdout`` (the final view) or ``cross-validation`` (fold views, then the final view), grouped by image."""
GROUPED_BY = "image content"


def image_digest(path: str, cache: dict[str, str]) -> str:
    """sha1 of an image file's bytes (the group key: the same picture under two names is one group)."""
    if path not in cache:
        cache[path] = hashlib.sha1(Path(path).read_bytes()).hexdigest()
    return cache[path]


def grouped_split(rows: Sequence[BoxRow], groups: Sequence[str], test_fraction: float, seed: int) -> tuple[list[BoxRow], list[BoxRow]]:
    """Whole images to the test part, about ``test_fraction`` of them, shuffled by ``seed``."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train_index, test_index = next(splitter.split(list(range(len(rows))), groups=list(groups)))
    return [rows[int(i)] for i in train_index], [rows[int(i)] for i in test_index]


def plan_box_evaluation(labelled: Sequence[BoxRow], given_test: Sequence[BoxRow], *, test_fraction: float,
                        min_holdout_rows: int, folds: int, seed: int, digests: dict[str, str]) -> BoxPlan:
    """Holdout on a given test source or a large enough grouped split; grouped k-fold otherwise."""
    labelled = list(labelled)
    if given_test:
        return BoxPlan("holdout", None, [BoxView(FINAL, labelled, list(given_test))],
                       f"the {len(given_test)} rows of the given test source are the locked test split", GROUPED_BY)
    groups = [image_digest(r.image, digests) for r in labelled]
    images = len(set(groups))
    train, test = grouped_split(labelled, groups, test_fraction, seed)
    if len(test) >= min_holdout_rows:
        return BoxPlan("holdout", None, [BoxView(FINAL, train, test)],
                       f"the locked test split has {len(test)} rows of {len({image_digest(r.image, digests) for r in test})} "
                       f"images (at least {min_holdout_rows} rows; whole images, never split)", GROUPED_BY)
    k = min(folds, images)
    if k < 2:
        return BoxPlan("holdout", None, [BoxView(FINAL, train, test)],
                       f"only {images} image(s): too few to cross-validate, so the {len(test)}-row test split is used", GROUPED_BY)
    from sklearn.model_selection import GroupKFold

    views = []
    for i, (train_index, test_index) in enumerate(GroupKFold(n_splits=k).split(list(range(len(labelled))), groups=groups)):
        views.append(BoxView(f"fold-{i}", [labelled[int(j)] for j in train_index], [labelled[int(j)] for j in test_index]))
    views.append(BoxView(FINAL, labelled, []))
    return BoxPlan("cross-validation", k, views,
                   f"the test split would have {len(test)} rows (fewer than {min_holdout_rows}): {k}-fold cross-validation "
                   f"over all {len(labelled)} labelled rows of {images} images, grouped by image so no image is in "
                   "both a fold's training and test rows", GROUPED_BY)


def write_box_views(plan: BoxPlan, out: Path) -> list[Path]:
    """train/test/unlabelled JSON lines of every view (unlabelled stays empty for box tasks)."""
    written: list[Path] = []
    for view in plan.views:
        root = out / view.directory if view.directory else out
        root.mkdir(parents=True, exist_ok=True)
        for split, rows in (("train", view.train), ("test", view.test), ("unlabelled", [])):
            path = root / f"{split}.jsonl"
            write_jsonl(path, (r.to_row() for r in rows))
            written.append(path)
    return written
