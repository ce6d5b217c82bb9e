"""The deals UI, one module per page group: ``board`` (the pipeline board and moves),
``deals`` (a deal's page, create, edit, win, lose), ``qualify`` (accepting a handoff),
``forecast``, ``setup`` (pipelines, stages, products) and ``referrals``."""
