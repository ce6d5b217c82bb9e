"""Predictive-scoring tasks (imported by ``scoring/tasks.py`` so the worker registers them)."""
