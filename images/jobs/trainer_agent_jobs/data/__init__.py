"""Data job: load sources, clean, dedupe, split (locked test), fix labels, auto-label, augment, profile.

Entry point: ``python -m trainer_agent_jobs.data --spec spec.json --out DIR [--termination-log PATH]``.
"""
