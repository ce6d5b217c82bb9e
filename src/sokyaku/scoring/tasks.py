"""Scoring tasks: band drops on time, recomputes, model training."""

from sokyaku.scoring.predictive import tasks as predictive_tasks  # noqa: F401  (registers them)
