"""Shared plumbing: termination summaries and schema validation."""
from __future__ import annotations

import json

import pytest

from trainer_agent_jobs.common.schemas import SpecError, validate
from trainer_agent_jobs.common.termination import compact


def test_compact_summary_stays_under_4_kib_by_dropping_the_largest_fields() -> None:
    text = compact({"ok": True, "metrics": {"accuracy": 0.99}, "huge": "x" * 10000})
    assert len(text.encode()) <= 4096
    assert json.loads(text)["metrics"] == {"accuracy": 0.99} and json.loads(text)["truncated"] is True


@pytest.mark.parametrize("name, document, valid", [
    ("a minimal train spec", {"task": "text-classification", "modality": "text", "dataDir": "/d",
                              "model": {"id": "m", "family": "sklearn-naive-bayes"}}, True),
    ("a train spec without a model", {"task": "text-classification", "modality": "text", "dataDir": "/d"}, False),
    ("an objective with an unknown metric", {"task": "text-classification", "modality": "text", "dataDir": "/d",
                                             "model": {"id": "m", "family": "f"},
                                             "objectives": [{"metric": "vibes", "op": ">=", "value": 1}]}, False),
])
def test_train_spec_schema(name: str, document: dict, valid: bool) -> None:
    if valid:
        validate(document, "train-spec")
    else:
        with pytest.raises(SpecError):
            validate(document, "train-spec")


def test_a_job_exits_when_the_process_that_started_it_dies(tmp_path) -> None:
    """The watchdog ends an orphaned job: its parent shell is killed, the job is re-parented and quits."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import time, os, sys; sys.path.insert(0, %r);"
        "from trainer_agent_jobs.common.runner import watch_parent;"
        "watch_parent(int(os.environ['PARENT']), interval=0.1);"
        "open(%r, 'w').write(str(os.getpid())); time.sleep(30)"
    ) % (str(__import__('pathlib').Path(__file__).resolve().parents[2]), str(tmp_path / "pid"))
    # The shell is the job's parent; the job watches the shell's pid.
    shell = subprocess.Popen(["bash", "-c", f'PARENT=$$ {sys.executable} -c "{script}"; sleep 30'], start_new_session=True)
    for _ in range(100):
        if (tmp_path / "pid").exists() and (tmp_path / "pid").read_text():
            break
        time.sleep(0.05)
    job_pid = int((tmp_path / "pid").read_text())
    os.kill(shell.pid, signal.SIGKILL)
    shell.wait()
    for _ in range(50):
        try:
            os.kill(job_pid, 0)
        except ProcessLookupError:
            break
        # Reap it if it became our zombie; otherwise it is gone once init reaps it.
        time.sleep(0.1)
    else:
        os.kill(job_pid, signal.SIGKILL)
        raise AssertionError("the orphaned job kept running")
