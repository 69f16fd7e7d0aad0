"""Captions: given ones win (metadata.jsonl, then a sidecar .txt); otherwise the names say what they can."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_agent_jobs.common.runner import JobError
from trainer_agent_jobs.generation.captions import caption_for, caption_from_names, read_metadata, words_of


@pytest.mark.parametrize("name, words", [
    ("pastel-bottle_with-tulips-003", "pastel bottle with tulips"),
    ("IMG_0042", ""),
    ("springCampaign v2 final", "spring campaign"),
    ("DSC-0001.hero-shot", "hero shot"),
])
def test_names_become_words_without_numbering(name: str, words: str) -> None:
    assert words_of(name) == words


def test_folder_words_already_in_the_file_name_are_said_once(tmp_path: Path) -> None:
    image = tmp_path / "spring" / "bottle" / "pastel-bottle-01.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"")
    assert caption_from_names(image, tmp_path) == "spring, pastel bottle"


def test_metadata_then_sidecar_then_names(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / "jar").mkdir(exist_ok=True)
        (tmp_path / "jar" / name).write_bytes(b"")
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file_name": "jar/a.png", "text": "a  jar\non a pastel poster"}) + "\n")
    (tmp_path / "jar" / "a.txt").write_text("ignored: metadata wins")
    (tmp_path / "jar" / "b.txt").write_text("a jar with tulips\n")
    metadata = read_metadata(tmp_path)
    got = [caption_for(tmp_path / "jar" / n, tmp_path, metadata) for n in ("a.png", "b.png", "c.png")]
    assert [(c.text, c.source) for c in got] == [("a jar on a pastel poster", "metadata"), ("a jar with tulips", "sidecar"), ("jar, c", "names")]


@pytest.mark.parametrize("row, problem", [
    ({"file_name": "../outside.png", "text": "x"}, "leaves the folder"),
    ({"file_name": "a.png"}, "needs"),
])
def test_bad_metadata_lines_are_named(tmp_path: Path, row: dict[str, str], problem: str) -> None:
    (tmp_path / "metadata.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(JobError, match=problem):
        read_metadata(tmp_path)
