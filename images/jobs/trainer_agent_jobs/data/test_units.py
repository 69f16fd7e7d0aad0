"""Small, pure pieces of the data job."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_agent_jobs.data.dedupe import strip_mail_headers, text_content
from trainer_agent_jobs.data.label_errors import decide_action
from trainer_agent_jobs.data.redact import redact

MAIL = "From a@b.c  Thu Aug 22 2002\nReturn-Path: <a@b.c>\nSubject: hi\n\tcontinued\n\nHello  there\n"


@pytest.mark.parametrize("name, text, body", [
    ("a mail's headers are dropped", MAIL, "Hello  there\n"),
    ("plain text is kept whole", "Just a sentence.\n\nAnd another.", "Just a sentence.\n\nAnd another."),
    ("two header-like lines are not a header block", "Note: one\nTodo: two\n\nrest", "Note: one\nTodo: two\n\nrest"),
])
def test_strip_mail_headers(name: str, text: str, body: str) -> None:
    assert strip_mail_headers(text) == body


def test_same_body_with_different_headers_has_the_same_content() -> None:
    other = MAIL.replace("Thu Aug 22", "Fri Aug 23").replace("hi", "re: hi")
    assert text_content(MAIL) == text_content(other) == "hello there"


@pytest.mark.parametrize("name, text, expected", [
    ("addresses are masked", "write to jane.doe@example.com now", "write to [email] now"),
    ("urls are masked", "see http://x.example/a?b=c", "see [url]"),
    ("long numbers are masked", "call 555-123-4567 today", "call [number] today"),
    ("long text is cut", "word " * 40, "word " * 16 + "…"),
])
def test_redact(name: str, text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("name, action, confidence, margin, agreed, expected", [
    ("confident, clear and agreed by every repeat: corrected", "correct", 0.9, 0.8, True, "corrected"),
    ("unsure suggestion is flagged for review", "correct", 0.6, 0.8, True, "flagged"),
    ("a narrow margin over the given label is flagged", "correct", 0.9, 0.3, True, "flagged"),
    ("repeats that disagree are flagged", "correct", 0.95, 0.9, False, "flagged"),
    ("flag never relabels", "flag", 0.99, 0.99, True, "flagged"),
    ("drop removes", "drop", 0.99, 0.99, True, "dropped"),
])
def test_decide_action(name: str, action: str, confidence: float, margin: float, agreed: bool, expected: str) -> None:
    assert decide_action(action, confidence, margin, agreed, 0.8, 0.5) == expected


@pytest.mark.parametrize(
    ("role", "label_column", "error"),
    [
        ("train", "category", "no label column 'category'"),
        ("unlabelled", "category", None),
        ("train", "label", None),
    ],
)
def test_a_missing_label_column_is_named_unless_the_source_is_unlabelled(tmp_path, role: str, label_column: str, error: str | None) -> None:
    from trainer_agent_jobs.common.runner import JobError
    from trainer_agent_jobs.data.sources import load_source
    from trainer_agent_jobs.data.spec import Source

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    source = Source(name="s", uri=f"file://{path}", format="jsonl", role=role, label_column=label_column)
    if error:
        with pytest.raises(JobError, match=error):
            load_source(source)
    else:
        assert len(load_source(source)) == 2


@pytest.mark.parametrize("text", ["line\u2028separator", "next\x85line", "form\x0cfeed", "plain"])
def test_the_data_digest_reads_json_lines_whose_texts_hold_unicode_line_breaks(tmp_path: Path, text: str) -> None:
    """JSON keeps U+2028, U+0085 and form feeds raw inside strings; the digest must not cut lines there."""
    from trainer_agent_jobs.data.digest import data_digest

    split = tmp_path / "train.jsonl"
    split.write_text(json.dumps({"text": text, "label": "a"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert data_digest([split], tmp_path).startswith("sha256:")
