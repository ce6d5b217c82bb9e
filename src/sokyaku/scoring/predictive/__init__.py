"""Predictive scoring: win probability from fit and behaviour, trained on known outcomes."""
