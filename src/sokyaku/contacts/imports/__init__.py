"""Importing contacts from CSV and XLSX files: ``reader`` (bytes → header and rows), ``mapping``
(columns → contact fields, one row → contact input), ``run`` (the workflow: create, configure,
preview, start, run), ``report`` (the per-row error report) and ``selectors`` (jobs for a user).
"""
