"""The style-set data job on the example's generated posters: decode, caption, deduplicate, hold out."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from conftest import run_job
from trainer_agent_jobs.generation.fixtures import data_spec, write_style_set


def test_style_set_is_profiled_captioned_deduplicated_and_held_out(tmp_path: Path) -> None:
    folder = tmp_path / "style"
    paths = write_style_set(folder, count=20)
    shutil.copy(paths[0], paths[0].with_name("exact-copy.png"))
    with Image.open(paths[1]) as image:  # a re-encoded, resized copy: a near duplicate
        image.resize((48, 48)).save(paths[1].with_name("smaller-copy.jpg"), quality=95)
    (folder / "bottle" / "broken.png").write_bytes(b"\x89PNG not really")
    paths[2].with_suffix(".txt").write_text("a bottle on a mint spring poster")
    write_style_set(tmp_path / "small", count=1, size=24, seed=5)[0].rename(folder / "jar" / "tiny-jar.png")

    run = run_job("generation.data", data_spec(folder, resolution=32), tmp_path / "out")

    assert run.code == 0, run.stderr[-2000:]
    p = run.result["profile"]
    assert p["images"] == {"files": 24, "valid": 23, "invalid": 1, "kept": 21, "train": 17, "heldOut": 4}
    assert p["duplicates"] == {"exact": 1, "near": 1, "removed": 2}
    assert p["belowResolution"] == 1 and p["resolutions"]["64x64"] == 20
    assert p["captions"]["fromSidecar"] == 1 and p["captions"]["fromNames"] == 20 and p["captions"]["coverage"] == round(1 / 21, 4)
    assert p["heldOut"]["method"] == "split" and p["leakage"] == {"exact": 0, "near": 0}
    rows = [json.loads(line) for line in (run.out / "train.jsonl").read_text().splitlines()]
    held = [json.loads(line) for line in (run.out / "heldout.jsonl").read_text().splitlines()]
    assert len(rows) == 17 and len(held) == 4 and not {r["image"] for r in rows} & {r["image"] for r in held}
    assert any(r["caption"] == "a bottle on a mint spring poster" for r in rows + held)
    assert all(r["caption"] for r in rows)
    warnings = " ".join(run.result["warnings"])
    assert "could not be decoded" in warnings and "smaller than the 32 px" in warnings and "written from file and folder names" in warnings


def test_a_test_source_is_the_held_out_set_and_edits_change_the_digest(tmp_path: Path) -> None:
    train, test = tmp_path / "train", tmp_path / "test"
    write_style_set(train, count=12)
    held = write_style_set(test, count=4, seed=7)
    spec = data_spec(train)
    spec["sources"].append({"name": "held", "uri": f"file://{test}", "format": "imagefolder", "role": "test"})
    first = run_job("generation.data", spec, tmp_path / "one")
    assert first.code == 0, first.stderr[-2000:]
    assert first.result["profile"]["heldOut"]["method"] == "given" and first.result["profile"]["images"]["heldOut"] == 4
    Image.new("RGB", (64, 64), "red").save(held[0])
    second = run_job("generation.data", spec, tmp_path / "two")
    assert second.code == 0 and second.result["digest"] != first.result["digest"]


def test_a_csv_source_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("text,label\n")
    spec = {"task": "image-generation", "sources": [{"name": "x", "uri": f"file://{tmp_path / 'x.csv'}", "format": "csv"}], "resolution": 32}
    run = run_job("generation.data", spec, tmp_path / "out")
    assert run.code == 1 and "learns from an image folder" in run.termination["error"]
