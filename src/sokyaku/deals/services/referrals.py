"""The referral programme: one code per contact, referred leads tied to their referrer, rewards.

- ``referral_code_get_or_create``: a customer's code, 8 characters from an alphabet without
  look-alikes (no 0/O, 1/I/L), unique; the link people share is ``SITE_URL/r/<code>``
  (``public_views``), which leads to the landing page with ``?ref=<code>``.
- ``referral_attribute``: the referred contact is tied to the referrer once (a later code does
  not re-attribute), never to themselves. It records ``referred`` on the referred contact's
  timeline and ``referral`` on the referrer's, and gives a contact without a first-touch channel
  a referral touch (the channel rules map ``medium=referral`` to the 紹介 channel).
- Rewards: ``pending`` until the referred contact becomes a customer (``referral_rewards_earn``,
  called by the deals listener on ``lifecycle_changed``), then ``earned``; ``paid`` or ``void``
  by hand (``referral_reward_set``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.deals.models import Referral, ReferralCode, RewardStatus
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.lifecycle.models import Stage

logger = logging.getLogger(__name__)

# Read aloud or copied from paper without mistakes: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_MAX = ReferralCode._meta.get_field("code").max_length or 16
REF_PARAM = "ref"
SOURCE_MAX = 30
_ATTEMPTS = 5
BUYER_STAGES = frozenset({Stage.CUSTOMER, Stage.ADVOCATE})
# Which reward changes a person may make; paid is final, a void can be reopened.
REWARD_MOVES: dict[str, frozenset[str]] = {
    RewardStatus.PENDING: frozenset({RewardStatus.EARNED, RewardStatus.VOID}),
    RewardStatus.EARNED: frozenset({RewardStatus.PAID, RewardStatus.VOID}),
    RewardStatus.PAID: frozenset(),
    RewardStatus.VOID: frozenset({RewardStatus.PENDING}),
}
_SOURCES = {"api": EventSource.API, "ui": EventSource.UI, "form": EventSource.FORM}


def code_normalize(code: Any) -> str:
    """A code as stored: upper case, without surrounding spaces ("" when it cannot be one)."""
    text = str(code or "").strip().upper()
    if not text or len(text) > CODE_MAX or not text.isalnum() or not text.isascii():
        return ""
    return text


def ref_from_properties(properties: Mapping[str, Any]) -> str:
    """The referral code an event carries: a ``ref`` property, a form answer named ``ref`` (a
    hidden field), or ``?ref=`` in the page URL the form was on (the referral link's landing
    page keeps it). "" when there is none."""
    direct = properties.get(REF_PARAM)
    if isinstance(direct, str) and direct:
        return code_normalize(direct)
    answers = properties.get("fields")
    if isinstance(answers, Mapping):
        answer = answers.get(REF_PARAM)
        if isinstance(answer, str) and answer:
            return code_normalize(answer)
    url = properties.get("url")
    if isinstance(url, str) and f"{REF_PARAM}=" in url:
        values = parse_qs(urlsplit(url).query).get(REF_PARAM) or [""]
        return code_normalize(values[-1])
    return ""


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def referral_code_get_or_create(*, contact: Contact) -> ReferralCode:
    """The contact's referral code, created on first use. Raises ``ValidationError`` for a
    contact merged into another one."""
    existing = ReferralCode.objects.filter(contact_id=contact.pk).first()
    if existing is not None:
        return existing
    if contact.merged_into_id is not None:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact": "merged"}
        )
    for _attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                code = ReferralCode.objects.create(
                    contact=contact, code=_new_code(), created_at=clock.now()
                )
        except IntegrityError:
            # Either the contact got its code a moment ago, or the random code is taken.
            existing = ReferralCode.objects.filter(contact_id=contact.pk).first()
            if existing is not None:
                return existing
            continue
        logger.info("referral.code_created", extra={"contact": contact.pk})
        return code
    raise Conflict("No free referral code was found; please try again.")


def referral_code_find(*, code: str) -> ReferralCode | None:
    """The stored code (case-insensitive), or ``None``."""
    normal = code_normalize(code)
    if not normal:
        return None
    return ReferralCode.objects.filter(code=normal).select_related("contact").first()


def _touch(referred: Contact, code: str) -> None:
    if referred.first_touch_channel_id is not None:
        return
    touches.contact_touch_record(
        contact_id=referred.pk,
        touch={"source": "referral", "medium": "referral", "content": code},
        at=clock.now(),
    )


def referral_attribute(*, code: str, referred: Contact, source: str) -> Referral:
    """Tie ``referred`` to the owner of ``code`` and return the referral.

    ``source`` says how the code arrived (``form``, ``api`` …). Attributing the same contact to
    the same referrer again returns the stored referral. Side effects: ``referred``
    ``{referrer, code, referral, source}`` on the referred contact and ``referral`` ``{referred,
    code, referral}`` on the referrer; the reward starts ``pending``, or ``earned`` when the
    referred contact already is a customer; a first touch with ``medium=referral`` for a contact
    without a first-touch channel. Raises ``ValidationError`` for an unknown code (field
    ``code``), a self-referral or a merged contact (field ``contact_id``) and ``Conflict`` when
    the contact was already referred by someone else.
    """
    found = referral_code_find(code=code)
    if found is None:
        raise ValidationError("Unknown referral code.", field_errors={"code": "unknown code"})
    if referred.merged_into_id is not None:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact_id": "merged"}
        )
    try:
        referrer = contact_selectors.contact_get(user=None, id=found.contact_id)
    except NotFound:
        raise ValidationError(
            "Unknown referral code.", field_errors={"code": "unknown code"}
        ) from None
    if referrer.pk == referred.pk:
        raise ValidationError(
            "A contact cannot refer themselves.", field_errors={"contact_id": "self-referral"}
        )
    stored = Referral.objects.filter(referred_id=referred.pk).first()
    if stored is not None:
        return _already(stored, referrer)
    now = clock.now()
    buyer = lifecycle_selectors.stage_get(contact_id=referred.pk) in BUYER_STAGES
    event_source = _SOURCES.get(source, EventSource.SYSTEM)
    source = str(source or "")[:SOURCE_MAX]
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer=referrer,
                referred=referred,
                code=found.code,
                attributed_at=now,
                reward_status=RewardStatus.EARNED if buyer else RewardStatus.PENDING,
                reward_changed_at=now if buyer else None,
            )
            activity_services.event_ingest_batch(
                events=[
                    event_factories.event_build(
                        type=EventType.REFERRED,
                        occurred_at=now,
                        source=event_source,
                        properties={
                            "referrer": referrer.pk,
                            "code": found.code,
                            "referral": referral.pk,
                            "source": source,
                        },
                        contact_id=referred.pk,
                    ),
                    event_factories.event_build(
                        type=EventType.REFERRAL,
                        occurred_at=now,
                        source=event_source,
                        properties={
                            "referred": referred.pk,
                            "code": found.code,
                            "referral": referral.pk,
                        },
                        contact_id=referrer.pk,
                    ),
                ]
            )
            _touch(referred, found.code)
    except IntegrityError:
        # Attributed by a concurrent request a moment ago.
        stored = Referral.objects.filter(referred_id=referred.pk).first()
        if stored is None:
            raise
        return _already(stored, referrer)
    logger.info(
        "referral.attributed",
        extra={"referral": referral.pk, "referrer": referrer.pk, "referred": referred.pk},
    )
    return referral


def _already(stored: Referral, referrer: Contact) -> Referral:
    if stored.referrer_id == referrer.pk:
        return stored
    raise Conflict("This contact was already referred by someone else.")


def referral_reward_set(*, referral: Referral, status: str, actor: User | None) -> Referral:
    """Change a referral's reward status by hand (``earned``, ``paid``, ``void``, or ``pending``
    again after a void). Setting the current status changes nothing. Raises
    ``ValidationError`` for an unknown status and ``Conflict`` for a move that is not allowed
    (a paid reward is final)."""
    if status not in RewardStatus.values:
        raise ValidationError(
            "Unknown reward status.", field_errors={"status": "pending, earned, paid or void"}
        )
    with transaction.atomic():
        current = Referral.objects.select_for_update().get(pk=referral.pk)
        if current.reward_status == status:
            return current
        if status not in REWARD_MOVES[current.reward_status]:
            raise Conflict(
                f"A reward that is {current.reward_status} cannot become {status}.",
            )
        current.reward_status = status
        current.reward_changed_at = clock.now()
        current.save(update_fields=["reward_status", "reward_changed_at"])
    logger.info(
        "referral.reward_set",
        extra={
            "referral": current.pk,
            "status": status,
            "actor": actor.pk if actor is not None else None,
        },
    )
    referral.reward_status = current.reward_status
    referral.reward_changed_at = current.reward_changed_at
    return current


def referral_rewards_earn(*, contact_ids: Iterable[int]) -> int:
    """Pending rewards of referrals whose referred contact is now a customer (or advocate)
    become earned. Returns how many changed. Safe to run twice."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    stages = lifecycle_selectors.stage_of(contact_ids=ids)
    buyers = [contact_id for contact_id in ids if stages.get(contact_id) in BUYER_STAGES]
    if not buyers:
        return 0
    changed = Referral.objects.filter(
        referred_id__in=buyers, reward_status=RewardStatus.PENDING
    ).update(reward_status=RewardStatus.EARNED, reward_changed_at=clock.now())
    if changed:
        logger.info("referral.rewards_earned", extra={"count": changed})
    return changed
