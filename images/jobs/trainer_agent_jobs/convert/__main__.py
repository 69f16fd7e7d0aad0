"""``python -m trainer_agent_jobs.convert --spec spec.json --out DIR [--termination-log PATH]``."""
from __future__ import annotations

import argparse

from .job import main


def cli() -> int:
    """Parse the command line and run the job."""
    ap = argparse.ArgumentParser(prog="trainer_agent_jobs.convert", description="Convert, check, package and benchmark a trained model.")
    ap.add_argument("--spec", required=True, help="job spec JSON (agents/jobs/convert-spec.ts)")
    ap.add_argument("--out", required=True, help="output directory (result.json, model-repository/)")
    ap.add_argument("--termination-log", default=None, help="file for the compact summary (< 4 KiB)")
    a = ap.parse_args()
    return main(a.spec, a.out, a.termination_log)


if __name__ == "__main__":
    raise SystemExit(cli())
