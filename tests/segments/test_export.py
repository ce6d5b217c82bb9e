"""Audience export: normalised, SHA-256 hashed emails and phones, consenting members only."""

from __future__ import annotations

import hashlib

import pytest

from sokyaku.core.errors import PermissionDenied
from sokyaku.segments import services
from sokyaku.segments.export import audience_export
from tests.segments import factories as f

TARO = hashlib.sha256(b"taro@acme.co.jp").hexdigest()


@pytest.fixture
def everyone(people, now):  # type: ignore[no-untyped-def]
    lst = services.segment_create(name="リターゲティング", kind="static")
    services.segment_members_add(segment=lst, contact_ids=[c.pk for c in people.values()])
    for name in ("yamada", "tanaka", "sato"):
        f.consent(people[name], topic_key="newsletter", status="granted", basis="opt_in", at=now)
    f.consent(people["sato"], topic_key=None, status="withdrawn", at=now)
    return lst


def test_google_format_hashes_normalised_email_and_e164_phone(everyone, marketer) -> None:  # type: ignore[no-untyped-def]
    lines = audience_export(segment=everyone, format="google", actor=marketer).decode().splitlines()

    assert lines[0] == "Email,Phone"
    assert f"{TARO}," in lines  # yamada: email only
    phone = hashlib.sha256(b"+81312345678").hexdigest()
    assert f",{phone}" in lines  # tanaka: phone only, E.164 with +
    assert len(lines) == 3  # suzuki never consented, sato withdrew from everything


def test_meta_format_uses_its_header_and_digits_only_phones(everyone, marketer) -> None:  # type: ignore[no-untyped-def]
    lines = audience_export(segment=everyone, format="meta", actor=marketer).decode().splitlines()

    assert lines[0] == "email,phone"
    assert f",{hashlib.sha256(b'81312345678').hexdigest()}" in lines


def test_an_advertising_topic_takes_over_when_it_exists(everyone, people, marketer, now) -> None:  # type: ignore[no-untyped-def]
    f.consent(people["tanaka"], topic_key="advertising", status="granted", basis="opt_in", at=now)

    lines = audience_export(segment=everyone, format="google", actor=marketer).decode().splitlines()

    assert lines == ["Email,Phone", f",{hashlib.sha256(b'+81312345678').hexdigest()}"]


def test_the_hash_of_a_known_normalised_email(db) -> None:  # type: ignore[no-untyped-def]
    from sokyaku.segments.export import email_for_audience, sha256_hex

    # sha256("test@example.com"), as published in ad platforms' hashing examples
    expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert sha256_hex(email_for_audience("  Test@Example.COM ")) == expected


def test_sales_rep_cannot_export(everyone, sales_rep) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        audience_export(segment=everyone, format="google", actor=sales_rep)
