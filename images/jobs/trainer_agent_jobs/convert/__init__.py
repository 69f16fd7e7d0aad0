"""Conversion and benchmark job: trained model -> ONNX -> Triton model repository + serving profile.

Entry point: ``python -m trainer_agent_jobs.convert --spec spec.json --out DIR [--termination-log PATH]``.
"""
