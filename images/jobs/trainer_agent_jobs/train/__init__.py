"""Train job: fit a catalog family on the prepared data, evaluate on the locked test, save model + manifest.

Entry point: ``python -m trainer_agent_jobs.train --spec spec.json --out DIR [--termination-log PATH]``.
"""
