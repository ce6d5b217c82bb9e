"""Channel rules: the defaults map the demo's touches, rules are edited, reordered and applied
to stored touches again."""

from __future__ import annotations

import pytest

from sokyaku.campaigns import services
from sokyaku.campaigns.matching import signals_of
from sokyaku.campaigns.models import Channel, ChannelRule, RuleOperator
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.demo.marketing import CHANNELS as DEMO_CHANNELS
from tests.campaigns.factories import campaign, channel, channel_key_of, contact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("touch", "expected"),
    [
        ({"source": "google", "medium": "cpc"}, "paid-search"),
        ({"source": "yahoo", "medium": "cpc"}, "paid-search"),
        ({"source": "facebook", "medium": "paid_social"}, "paid-social"),
        ({"source": "linkedin", "medium": "paid_social"}, "paid-social"),
        ({"source": "x", "medium": "paid_social"}, "paid-social"),
        ({"source": "instagram", "medium": "cpc"}, "paid-social"),
        ({"referrer": "https://www.google.co.jp/", "url": "https://ex.co.jp/"}, "seo-blog"),
        ({"referrer": "https://search.yahoo.co.jp/search?p=ma"}, "seo-blog"),
        ({"referrer": "https://www.bing.com/"}, "seo-blog"),
        ({"source": "webinar", "medium": "event"}, "webinar"),
        ({"medium": "webinar"}, "webinar"),
        ({"source": "tradeshow", "medium": "offline"}, "trade-show"),
        ({"medium": "event"}, "trade-show"),
        ({"source": "referral", "medium": "referral"}, "referral"),
        ({"referrer": "https://blog.partner.example/post"}, "referral"),
        ({"source": "newsletter", "medium": "email"}, "email"),
        ({"source": "ma", "medium": "email", "campaign": "step_mail"}, "email"),
        ({"url": "https://ex.co.jp/"}, "direct"),
        ({}, "direct"),
    ],
)
def test_default_rules_map_the_demo_scenarios(touch: dict[str, str], expected: str) -> None:
    # given the rules a new installation starts with
    services.channel_defaults_install()
    # then each demo touch lands in its demo channel
    assert channel_key_of(touch) == expected


def test_matching_ignores_case_width_and_utm_prefixes() -> None:
    services.channel_defaults_install()
    assert channel_key_of({"utm_source": "Ｇｏｏｇｌｅ", "utm_medium": " CPC "}) == "paid-search"


def test_a_referrer_from_the_same_site_is_no_referrer() -> None:
    services.channel_defaults_install()
    touch = {"url": "https://www.ex.co.jp/pricing", "referrer": "https://ex.co.jp/"}
    assert signals_of(touch).referrer_host == ""
    assert channel_key_of(touch) == "direct"


def test_defaults_line_up_with_the_demo_channels() -> None:
    services.channel_defaults_install()
    assert {spec.key for spec in DEMO_CHANNELS} <= set(
        Channel.objects.values_list("key", flat=True)
    )
    assert set(ChannelRule.objects.values_list("channel__key", flat=True)) <= {
        spec.key for spec in DEMO_CHANNELS
    }


def test_defaults_are_installed_once() -> None:
    # given the defaults (installed after migrate) and a marketer who deleted one rule
    services.channel_defaults_install()
    count = ChannelRule.objects.count()
    ChannelRule.objects.filter(name__startswith="直接流入").delete()
    # when migrate runs again
    assert services.channel_defaults_install() is False
    # then the deleted rule stays deleted
    assert ChannelRule.objects.count() == count - 1


def test_a_registered_campaign_decides_before_the_rules() -> None:
    # given a campaign registered under webinar, linked from a paid social ad
    campaign("spring_seminar", "webinar")
    touch = {"source": "facebook", "medium": "cpc", "campaign": "Spring_Seminar"}
    # then the campaign's channel wins
    assert channel_key_of(touch) == "webinar"


def test_a_new_rule_with_a_higher_priority_wins() -> None:
    # given a partner channel and a rule for its referrer domain before the referral rule
    partner = services.channel_create(key="partner", name="パートナー", kind="partner")
    services.channel_rule_create(
        data=services.RuleInput(
            channel_id=partner.pk,
            name="パートナーサイト",
            priority=5,
            referrer_op=RuleOperator.EXACT,
            referrer_values="partner.example, 販売店.example",
        )
    )
    # then a visit from that site is the partner's, other sites stay referrals
    assert channel_key_of({"referrer": "https://www.partner.example/a"}) == "partner"
    assert channel_key_of({"referrer": "https://other.example/"}) == "referral"


def test_a_value_condition_needs_values() -> None:
    with pytest.raises(ValidationError) as caught:
        services.channel_rule_create(
            data=services.RuleInput(channel_id=channel("email").pk, medium_op=RuleOperator.EXACT)
        )
    assert caught.value.field_errors == {"medium_values": "Enter at least one value."}


def test_moving_a_rule_renumbers_the_order() -> None:
    services.channel_defaults_install()
    rules = list(ChannelRule.objects.order_by("priority"))
    last = rules[-1]
    # when the last rule moves up twice
    services.channel_rule_move(rule=last, offset=-1)
    services.channel_rule_move(rule=last, offset=-1)
    # then it is third from the end, and priorities are 10, 20, 30 …
    order = list(ChannelRule.objects.order_by("priority").values_list("id", "priority"))
    assert [pk for pk, _p in order][-3] == last.pk
    assert [p for _pk, p in order] == [10 * (i + 1) for i in range(len(order))]


def test_reapply_maps_stored_touches_with_the_current_rules() -> None:
    # given contacts whose first touch came from a partner site (a referral today)
    people = [contact(f"p{i}@ex.jp") for i in range(3)]
    for person in people:
        touches.contact_touch_record(
            contact_id=person.pk,
            touch={"referrer": "https://partner.example/", "url": "https://ex.co.jp/"},
            at=clock.now(),
        )
    assert set(Contact.objects.values_list("first_touch_channel__key", flat=True)) == {"referral"}
    # and a contact whose channel an import set, without a stored touch
    imported = contact("card@ex.jp")
    Contact.objects.filter(pk=imported.pk).update(first_touch_channel=channel("trade-show"))
    # when a rule for the partner is added and the rules are applied again
    partner = services.channel_create(key="partner", name="パートナー", kind="partner")
    services.channel_rule_create(
        data=services.RuleInput(
            channel_id=partner.pk,
            priority=1,
            referrer_op=RuleOperator.CONTAINS,
            referrer_values="partner.example",
        )
    )
    result = touches.channel_rules_reapply()
    # then the three moved (first and latest touch), the imported one kept its channel
    assert (result.first_changed, result.latest_changed) == (3, 3)
    keys = dict(Contact.objects.values_list("email", "first_touch_channel__key"))
    assert keys == {"p0@ex.jp": "partner", "p1@ex.jp": "partner", "p2@ex.jp": "partner",
                    "card@ex.jp": "trade-show"}  # fmt: skip
