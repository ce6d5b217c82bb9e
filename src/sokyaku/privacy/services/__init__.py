"""Every write of the privacy app, one module per workflow (``erasure``, ``deletion``,
``retention``)."""
