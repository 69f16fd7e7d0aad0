"""TrainerAgent job package: data preparation, training, conversion and benchmarks.

Each job is a module runnable with ``python -m trainer_agent_jobs.<job> --spec spec.json --out DIR``.
"""
