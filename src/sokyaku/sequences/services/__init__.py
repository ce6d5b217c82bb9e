"""Sequences' write side, one module per workflow: ``enrollment`` (enrol, exit), ``editing``
(sequences and their steps), ``triggers`` (events → enrolments, exits, goals) and ``tick`` (the
durable schedule advanced step by step)."""
