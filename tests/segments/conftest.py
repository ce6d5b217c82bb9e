"""A small, varied population for condition tests, at a fixed "now"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sokyaku.campaigns import services as campaign_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.segments import factories as f

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """Messages are asserted in English (the msgids); the UI default is Japanese."""


@pytest.fixture
def now() -> Iterator[datetime]:
    with clock.frozen(NOW):
        yield NOW


@pytest.fixture
def people(db, now, marketer) -> dict[str, Contact]:  # type: ignore[no-untyped-def]
    f.custom_field(key="size", type="choice", choices=["S", "M", "L"])
    f.custom_field(key="budget", type="number")
    f.custom_field(key="since", type="date")
    f.custom_field(key="active", type="boolean")
    seo = campaign_services.channel_create(key="seo", name="SEO", kind="organic_search")
    yamada = f.person(
        family_name="山田",
        given_name="太郎",
        email="taro@acme.co.jp",
        company={
            "name": "アクメ工業株式会社",
            "industry": "E",
            "employee_band": "100-299",
            "revenue_band": "1b-5b",
            "prefecture": 13,
        },
        title="営業部長",
        department="営業部",
        prefecture=13,
        tags=["vip", "expo"],
        custom_fields={"size": "L", "budget": 500, "since": "2026-05-20", "active": True},
        owner_id=marketer.pk,
        first_touch_channel_id=seo.pk,
        created_at=now - f.days(400),
    )
    suzuki = f.person(
        family_name="鈴木",
        given_name="花子",
        email="hanako@beta.example",
        company={"name": "ベータ情報", "industry": "G", "employee_band": "10-49", "prefecture": 27},
        title="主任",
        prefecture=27,
        tags=["expo"],
        custom_fields={"budget": 50, "active": False},
        created_at=now - f.days(10),
    )
    sato = f.person(
        family_name="佐藤",
        given_name="一郎",
        email="ICHIRO@ACME.co.jp",
        created_at=now - f.days(40),
    )
    tanaka = f.person(
        family_name="田中",
        phone="03-1234-5678",
        company={
            "name": "ガンマ商事",
            "industry": "E",
            "employee_band": "5000+",
            "revenue_band": "100b+",
            "prefecture": 13,
        },
        title="代表取締役社長",
        created_at=now - f.days(1),
    )
    return {"yamada": yamada, "suzuki": suzuki, "sato": sato, "tanaka": tanaka}
