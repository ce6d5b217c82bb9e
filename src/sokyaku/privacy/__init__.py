"""A person's rights over their data: erasure, export, deletion and retention.

The app sits above every domain app, because erasing or exporting a person reads and rewrites what
each of them stores about that person. Nothing below imports it.
"""
