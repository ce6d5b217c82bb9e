"""JSON requests through Django's test client, as an API client sends them."""

from __future__ import annotations

from typing import Any

from django.test import Client

JSON = "application/json"


def post_json(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data, content_type=JSON)


def patch_json(client: Client, url: str, data: Any) -> Any:
    return client.patch(url, data, content_type=JSON)
