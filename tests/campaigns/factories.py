"""Test data for campaigns: channels by key (the defaults exist after migrate), contacts with
a creation time, and campaigns."""

from __future__ import annotations

from datetime import datetime

from sokyaku.campaigns import selectors, services
from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock


def channel(key: str) -> Channel:
    """A default channel (created by ``channel_defaults_install`` after migrate)."""
    services.channel_defaults_install()
    return Channel.objects.get(key=key)


def channel_key_of(touch: dict[str, str]) -> str | None:
    """The key of the channel the current rules map ``touch`` to."""
    channel_id = selectors.channel_matcher().channel_for(touch)
    return Channel.objects.get(pk=channel_id).key if channel_id else None


def contact(email: str, *, at: datetime | None = None) -> Contact:
    """A contact created at ``at`` (default: now)."""
    with clock.frozen(at or clock.now()):
        return contact_upsert(data=ContactInput(email=email)).contact


def campaign(utm: str, channel_key: str, name: str = "") -> Campaign:
    return services.campaign_save(
        data=services.CampaignInput(
            name=name or utm, channel_id=channel(channel_key).pk, utm_campaign=utm
        )
    )
