"""Rows for the JSON API tests, made through the services (as the product makes them)."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.campaigns.models import Channel, ChannelKind
from sokyaku.contacts.models import Contact, FieldDefinition, FieldType
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiKey


def make_contacts(count: int) -> list[Contact]:
    """``count`` contacts with everything the API shows filled: company, tags, owner,
    custom fields, first-touch channel, and a few events each."""
    owner = core_services.user_create(
        username="owner", password="x", role=roles.SALES_REP, check_password=False
    )
    channel, _ = Channel.objects.get_or_create(
        key="trade-show", defaults={"name": "展示会", "kind": ChannelKind.TRADE_SHOW}
    )
    FieldDefinition.objects.get_or_create(
        key="employees", defaults={"label": "従業員数", "type": FieldType.NUMBER}
    )
    contacts = []
    for index in range(count):
        contact = contact_upsert(
            data=ContactInput(
                family_name="山田",
                given_name=f"太郎{index}",
                family_name_kana="ヤマダ",
                given_name_kana="タロウ",
                email=f"taro{index}@example.co.jp",
                company_name=f"株式会社サンプル{index % 3}",
                title="部長",
                postal_code="100-0001",
                tags=["展示会2025", f"tag{index % 4}"],
                custom_fields={"employees": 120 + index},
                owner_id=owner.pk,
                first_touch_channel_id=channel.pk,
            )
        ).contact
        activity_services.event_ingest_batch(
            events=[
                event_factories.page_view(
                    occurred_at=clock.now(), url="https://example.co.jp/", contact_id=contact.pk
                )
            ]
        )
        contacts.append(contact)
    return contacts


def key_beyond_role(*, user: User, scopes: Sequence[str], name: str = "older key") -> str:
    """The token of a key of ``user`` with ``scopes`` their role may not give a key today.

    Installations hold such keys: made before scopes were checked when a key is made, or while
    the user had a wider role. Nothing in the product makes one any more, so the row is written
    here; every request with it still meets the check of the operation's permissions.
    """
    new = core_services.apikey_create(name=name, scopes=list(scopes), system=True)
    ApiKey.objects.filter(pk=new.api_key.pk).update(created_by=user, is_system=False)
    return new.token
