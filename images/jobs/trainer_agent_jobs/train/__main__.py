"""``python -m trainer_agent_jobs.train``."""
import sys

from ..common.runner import main
from .job import run

sys.exit(main("train", run))
