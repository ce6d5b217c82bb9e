"""A public form refuses a name with line breaks or other control characters (an injection
vector, not a formatting detail): the person gets a field error, nothing is stored."""

from __future__ import annotations

import pytest

from sokyaku.contacts.models import Contact
from tests.capture.conftest import answers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family_name", "山田\r\nBcc: victim@example.jp"),
        ("given_name", "太郎\x1b[31m"),
        ("family_name_kana", "やまだ\n"),
        ("company", "株式会社サンプル\u202eevil"),
    ],
)
def test_a_name_with_control_characters_is_refused_with_a_field_error(form, submit, field, value):
    # when a person (or a bot) sends a name with a control character in it
    response = submit(
        "whitepaper", answers(**{field: value + "x"}), headers={"Accept": "application/json"}
    )
    # then the submission is refused with an error on that field, and no lead is stored
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert not Contact.objects.filter(email="taro.yamada@example.co.jp").exists()


def test_a_name_with_spaces_and_full_width_characters_is_kept(form, submit):
    response = submit("whitepaper", answers(family_name="山田　", given_name="ﾀﾛｳ"))
    assert response.status_code in (200, 302)
    assert Contact.objects.filter(email="taro.yamada@example.co.jp").exists()
