"""Keep secrets out of a text model's vocabulary: the vocabulary ships inside the exported ONNX graph.

A TF-IDF vocabulary is a list of words from the training texts, and it travels with the model to every
server. Words that look like credentials or personal numbers — API keys and tokens (long runs mixing
letters and digits, long hexadecimal strings) and phone, card or account numbers (six digits or more)
— carry no meaning a classifier needs, so they are taken out of the vocabulary (with every n-gram that
contains them) and the model is refitted on what is left. At serving time such words are then simply
unknown, as they would be for any unseen word. Names of people are not detected here.
"""
from __future__ import annotations

import re
from typing import Any

_DIGITS = re.compile(r"\d")
_HEX = re.compile(r"^[0-9a-f]{16,}$")
_LETTER = re.compile(r"[a-z]")


def secret_like(word: str) -> bool:
    """A word that looks like a key, a token or a personal number rather than language."""
    w = word.lower()
    digits = len(_DIGITS.findall(w))
    if digits >= 6:
        return True
    if len(w) >= 16 and digits and _LETTER.search(w):
        return True
    return bool(_HEX.match(w))


def filtered_vocabulary(vocabulary: dict[str, int]) -> dict[str, int] | None:
    """The vocabulary without secret-like terms (n-grams split on spaces), renumbered; None when nothing is removed."""
    kept = sorted(term for term in vocabulary if not any(secret_like(word) for word in term.split(" ")))
    if len(kept) == len(vocabulary):
        return None
    return {term: i for i, term in enumerate(kept)}


def text_vectorizer(pipeline: Any) -> Any | None:
    """The pipeline's word vectorizer (its first step), if it has one."""
    from sklearn.feature_extraction.text import CountVectorizer

    first = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
    return first if isinstance(first, CountVectorizer) else None  # TfidfVectorizer is a CountVectorizer
