"""Standard Webhooks signatures: the specification's published test vector, the secret's form,
and a receiver verifying with the specification's own library (at the real time)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

from standardwebhooks.webhooks import Webhook

from sokyaku.webhooks import signing

# The test vector published with the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_of_the_specifications_test_vector():
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)
    assert signing.signature(secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=at, body=SPEC_BODY) == (
        SPEC_SIGNATURE
    )


def test_a_time_in_another_zone_signs_the_same_instant():
    tokyo = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=timezone(timedelta(hours=9)))
    headers = signing.headers(
        secrets_in_force=[SPEC_SECRET], msg_id=SPEC_ID, timestamp=tokyo, body=SPEC_BODY
    )
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_a_new_secret_is_whsec_and_32_random_bytes():
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first.startswith("whsec_") and second.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_a_receiver_holding_either_secret_verifies_a_request_signed_during_a_rotation():
    # given a message signed now with the new and the previous secret
    new, old = signing.secret_generate(), signing.secret_generate()
    body = '{"type":"deal.won","data":{"deal":7,"amount_jpy":1200000}}'
    headers = signing.headers(
        secrets_in_force=[new, old],
        msg_id="msg_1",
        timestamp=datetime.now(tz=UTC),
        body=body,
    )
    # then the header carries two v1 signatures, and the library verifies it with either secret
    assert [s[:3] for s in headers["webhook-signature"].split(" ")] == ["v1,", "v1,"]
    assert Webhook(new).verify(body, headers) == {
        "type": "deal.won",
        "data": {"deal": 7, "amount_jpy": 1200000},
    }
    assert Webhook(old).verify(body, headers)["type"] == "deal.won"
