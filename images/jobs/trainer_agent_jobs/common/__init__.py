"""Plumbing shared by every job: schemas, progress events, termination messages, digests."""
