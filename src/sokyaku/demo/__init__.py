"""Deterministic Japanese demo data: ``generator.demo_load`` fills a fresh database with a
realistic B2B company's contacts, companies, channels, costs and six months of behaviour.

A plain package (not a Django app): it has no models and writes only through the domain services.
"""
