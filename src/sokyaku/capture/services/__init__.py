"""Every write of lead capture, one module per workflow:

- ``forms``: build, change, publish and unpublish forms (fields, consent checkboxes, purpose of
  use, allow-list, spam settings);
- ``submission``: the submission pipeline (``submission_process``), the one way a public form's
  data enters the system;
- ``confirmation``: double opt-in mail and its confirmation link;
- ``pages``: landing pages and their blocks.
"""
