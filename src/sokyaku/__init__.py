"""sokyaku: marketing automation and lead management for Japanese B2B and B2C teams."""

__version__ = "0.1.0"
