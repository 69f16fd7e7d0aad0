"""Classes too small to learn from and test on: refused with a reason, or left out with a warning."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from ..common.records import Record
from ..common.runner import JobError

#: A class needs one example to learn from and one to test on.
MIN_ROWS_PER_CLASS = 2


def check_class_sizes(records: Sequence[Record]) -> tuple[list[Record], str | None]:
    """The records to split, and a warning when classes with a single example were left out.

    When such classes are most of the classes, the "label" is almost surely an identifier or a free-text
    column: that is an error with the reason, not a split that fails deep inside scikit-learn.
    """
    counts = Counter(r.label for r in records)
    small = sorted(label for label, n in counts.items() if n < MIN_ROWS_PER_CLASS and label is not None)
    if not small:
        return list(records), None
    names = ", ".join(repr(label) for label in small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
    if 2 * len(small) > len(counts):
        raise JobError(
            f"{len(small)} of {len(counts)} classes have a single labelled example ({names}); a class needs at least "
            f"{MIN_ROWS_PER_CLASS}, one to learn from and one to test on. So many one-example classes usually mean the label "
            "column holds identifiers or free text: check labelColumn, or add examples of each class.")
    rare = set(small)
    kept = [r for r in records if r.label not in rare]
    return kept, f"left out {len(small)} class(es) with a single example ({names}): add examples to train and test them"
