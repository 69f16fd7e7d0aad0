"""``python -m trainer_agent_jobs.data``."""
import sys

from ..common.runner import main
from .job import run

sys.exit(main("data", run))
