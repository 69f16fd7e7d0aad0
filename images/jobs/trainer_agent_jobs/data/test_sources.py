"""Reading sources as users write them: BOMs, CRLF, a broken line, special files, classes of one example."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from trainer_agent_jobs.common.jsonl import JsonlError, read_jsonl
from trainer_agent_jobs.common.records import Record
from trainer_agent_jobs.common.runner import JobError
from trainer_agent_jobs.data.class_sizes import check_class_sizes
from trainer_agent_jobs.data.sources import load_source
from trainer_agent_jobs.data.spec import Source

ROWS = [{"text": f"row {i} says {'yes' if i % 2 else 'no'}", "label": "yes" if i % 2 else "no"} for i in range(6)]
JSONL = "".join(json.dumps(r) + "\n" for r in ROWS)
CSV = "text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in ROWS)


def _source(path: Path, fmt: str) -> Source:
    return Source(name="s", uri=f"file://{path}", format=fmt, role="train")


@pytest.mark.parametrize(("name", "fmt", "content"), [
    ("JSONL", "jsonl", JSONL.encode()),
    ("JSONL with a UTF-8 BOM", "jsonl", b"\xef\xbb\xbf" + JSONL.encode()),
    ("JSONL with CRLF line ends", "jsonl", JSONL.replace("\n", "\r\n").encode()),
    ("JSONL with a BOM, CRLF and blank lines", "jsonl", b"\xef\xbb\xbf" + JSONL.replace("\n", "\r\n\r\n").encode()),
    ("CSV", "csv", CSV.encode()),
    ("CSV with a UTF-8 BOM (Excel's 'CSV UTF-8')", "csv", b"\xef\xbb\xbf" + CSV.encode()),
    ("CSV with a BOM and CRLF", "csv", b"\xef\xbb\xbf" + CSV.replace("\n", "\r\n").encode()),
])
def test_reads_the_same_rows_whatever_the_line_ends_and_bom(tmp_path: Path, name: str, fmt: str, content: bytes) -> None:
    path = tmp_path / f"rows.{fmt}"
    path.write_bytes(content)
    records = load_source(_source(path, fmt))
    assert [(r.text, r.label) for r in records] == [(r["text"], r["label"]) for r in ROWS], name


@pytest.mark.parametrize(("name", "content", "error"), [
    ("a broken line", JSONL.replace(json.dumps(ROWS[3]), '{"text": "broken, "label": "no"}'), r"rows\.jsonl:4: not valid JSON \(Expecting ',' delimiter at column 20\)"),
    ("a line that is a list", JSONL + '["a", "b"]\n', r"rows\.jsonl:7: expected a JSON object per line, got list"),
    ("a line that is not UTF-8", JSONL.encode() + b'{"text": "caf\xe9", "label": "no"}\n', r"rows\.jsonl:7: not UTF-8 text"),
])
def test_a_bad_jsonl_line_is_named_with_its_file_and_line(tmp_path: Path, name: str, content: str | bytes, error: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(JobError, match=error):
        load_source(_source(path, "jsonl"))
    with pytest.raises(JsonlError, match=error):
        read_jsonl(path)


def _returns_within(seconds: float, call) -> BaseException | None:
    """Run ``call`` in a thread; fail the test if it is still running after ``seconds`` (a read that never ends)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the source did not return"
    return outcome[0]


@pytest.mark.parametrize(("name", "make", "kind"), [
    ("a named pipe (FIFO)", lambda p: os.mkfifo(p), "a named pipe"),
    ("a character device", lambda p: p.symlink_to("/dev/zero"), "a device"),
])
def test_special_files_are_refused_without_hanging(tmp_path: Path, name: str, make, kind: str) -> None:
    path = tmp_path / "rows.jsonl"
    make(path)
    error = _returns_within(10, lambda: load_source(_source(path, "jsonl")))
    assert isinstance(error, JobError), name
    assert f"is {kind}" in str(error) and "not a regular file" in str(error)


def test_a_folder_given_as_a_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="is a folder; format jsonl reads one file"):
        load_source(_source(tmp_path, "jsonl"))


def _records(counts: dict[str, int]) -> list[Record]:
    return [Record(source="s", index=i, text=f"{label} {i}", label=label) for label, n in counts.items() for i in range(n)]


def test_many_one_example_classes_are_refused_with_the_reason() -> None:
    with pytest.raises(JobError, match=r"500 of 500 classes have a single labelled example \('c0', 'c1', 'c10', 'c100', 'c101' and 495 more\).*check labelColumn"):
        check_class_sizes(_records({f"c{i}": 1 for i in range(500)}))


def test_a_few_one_example_classes_are_left_out_with_a_warning() -> None:
    kept, warning = check_class_sizes(_records({"billing": 40, "bug": 35, "biling": 1}))
    assert {r.label for r in kept} == {"billing", "bug"} and len(kept) == 75
    assert warning == "left out 1 class(es) with a single example ('biling'): add examples to train and test them"


def test_classes_with_enough_examples_pass_unchanged() -> None:
    records = _records({"a": 2, "b": 3})
    assert check_class_sizes(records) == (records, None)


def test_the_data_job_stops_on_one_example_classes_with_the_reason_not_a_library_error(tmp_path: Path) -> None:
    from conftest import run_job

    path = tmp_path / "ids.jsonl"
    path.write_text("".join(json.dumps({"text": f"order {i} shipped", "label": f"order-{i}"}) + "\n" for i in range(500)))
    spec = {"task": "text-classification", "modality": "text", "seed": 0, "operations": [],
            "sources": [{"name": "orders", "uri": f"file://{path}", "format": "jsonl"}]}
    run = run_job("data", spec, tmp_path / "out")
    assert run.code != 0
    assert run.termination["error"].startswith("JobError: 500 of 500 classes have a single labelled example")
    assert "Traceback" not in run.stderr
