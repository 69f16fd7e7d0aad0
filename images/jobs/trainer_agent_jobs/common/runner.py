"""The command-line shell every job shares: parse args, validate the spec, run, write results.

A job is a function ``run(spec: dict, out: Path) -> (result, summary)``. The runner validates the spec
against ``<job>-spec.schema.json``, the result against ``<job>-result.schema.json``, writes
``out/result.json`` and the termination summary, and turns any exception into a non-zero exit with a
clear message on stderr and in the termination log.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from . import events, schemas, termination

JobFunction = Callable[[dict[str, Any], Path], "tuple[dict[str, Any], dict[str, Any]] | None"]
"""A job: (result.json, termination summary), or None on a rank other than 0 of a distributed run."""


class JobError(RuntimeError):
    """A failure whose message is meant for the user (no traceback needed)."""


def parse_args(job: str, argv: list[str] | None) -> argparse.Namespace:
    """``--spec FILE --out DIR [--termination-log PATH]``."""
    parser = argparse.ArgumentParser(prog=f"python -m trainer_agent_jobs.{job}")
    parser.add_argument("--spec", required=True, help="job spec (JSON)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--termination-log", default=None, help="default: $TERMINATION_MESSAGE_PATH")
    return parser.parse_args(argv)


PARENT_PID_ENV = "TRAINER_AGENT_PARENT_PID"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_parent(expected: int, interval: float = 1.0) -> threading.Thread:
    """Exit when the process that started this job is gone (local mode: jobs die with ``run``).

    A SIGKILLed parent cannot take its children down; the child notices it was re-parented instead.
    A worker that ``torchrun`` started (its parent is torchrun, not ``run``) watches ``run`` itself.
    """
    direct = os.getppid() == expected

    def loop() -> None:
        while True:
            if (os.getppid() != expected) if direct else not _alive(expected):
                os._exit(137)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def main(job: str, run: JobFunction, argv: list[str] | None = None) -> int:
    """Run ``job`` from the command line; returns the exit code."""
    args = parse_args(job, argv)
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and parent.isdigit():
        watch_parent(int(parent))
    out = Path(args.out).resolve()
    try:
        spec = json.loads(Path(args.spec).read_text())
        schemas.validate(spec, f"{job}-spec")
        out.mkdir(parents=True, exist_ok=True)
        returned = run(spec, out)
        if returned is None:
            # Another rank of a torchrun job: rank 0 writes result.json and the termination message.
            return 0
        result, summary = returned
        schemas.validate(result, f"{job}-result")
        (out / "result.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
        termination.write({"ok": True, **summary}, args.termination_log)
        events.log(f"Finished {job} job: {out / 'result.json'}")
        return 0
    except (schemas.SpecError, JobError, FileNotFoundError, ValueError, json.JSONDecodeError) as error:
        return _fail(job, f"{type(error).__name__}: {error}", args.termination_log)
    except Exception as error:  # noqa: BLE001 - the job boundary reports everything
        traceback.print_exc(file=sys.stderr)
        return _fail(job, f"{type(error).__name__}: {error}", args.termination_log)


def _fail(job: str, message: str, termination_log: str | None) -> int:
    events.log(f"Failed {job} job: {message}")
    # Under torchrun the processes of one pod share its termination log: the first local rank writes it.
    if os.environ.get("LOCAL_RANK", "0") in ("", "0"):
        termination.write({"ok": False, "kind": "error", "job": job, "error": message[:2000]}, termination_log)
    return 1
