"""Japanese normalisation: the keys that make variant spellings one person or one company."""

from __future__ import annotations

import pytest

from sokyaku.contacts import normalize


@pytest.mark.parametrize(
    "name",
    ["ｻﾝﾌﾟﾙ株式会社", "株式会社サンプル", "(株)サンプル", "（株）サンプル", "㈱サンプル",
     "株式会社　サンプル", "サンプル ㈱", "カブシキガイシャサンプル"],
)  # fmt: skip
def test_company_variants_share_one_match_key(name):
    assert normalize.company_key(name) == "サンプル"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("有限会社山田商店", "山田商店(有)"),
        ("合同会社テックラボ", "テックラボ合同会社"),
        ("サンプル・システムズ株式会社", "ｻﾝﾌﾟﾙｼｽﾃﾑｽﾞ"),
        ("データーセンター株式会社", "データ―センター"),
        ("Sample Co., Ltd.", "SAMPLE"),
        ("Acme Inc.", "acme"),
    ],
)
def test_legal_forms_dashes_and_width_do_not_matter(a, b):
    assert normalize.company_key(a) == normalize.company_key(b)


def test_different_companies_keep_different_keys():
    assert normalize.company_key("株式会社サンプル") != normalize.company_key(
        "株式会社サンプル工業"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro@example.co.jp", "taro@example.co.jp"),
        ("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ", "taro@example.co.jp"),
        ("  Taro.Yamada@Example.CO.JP ", "taro.yamada@example.co.jp"),
        ("info@日本語.jp", "info@xn--wgv71a119e.jp"),
        ("", ""),
    ],
)
def test_email_normalize(raw, expected):
    assert normalize.email_normalize(raw) == expected


@pytest.mark.parametrize("raw", ["taro", "taro@", "@example.com", "ta ro@example.com"])
def test_invalid_email_is_rejected(raw):
    with pytest.raises(normalize.InvalidValue):
        normalize.email_normalize(raw)


@pytest.mark.parametrize(
    "raw", ["090-1234-5678", "09012345678", "+81 90 1234 5678", "０９０－１２３４－５６７８",
            "+81-90-1234-5678", "(090) 1234-5678"],
)  # fmt: skip
def test_phone_variants_give_one_e164(raw):
    assert normalize.phone_normalize(raw) == "+819012345678"


def test_landline_and_display():
    assert normalize.phone_normalize("03-1234-5678") == "+81312345678"
    assert normalize.phone_display("+81312345678") == "03-1234-5678"


@pytest.mark.parametrize("raw", ["123", "abc", "090-1234", "不明"])
def test_an_unreadable_phone_is_kept_as_written_for_review(raw):
    phone = normalize.phone_parse(raw)
    assert (phone.e164, phone.written, phone.needs_review) == ("", raw, True)
    assert normalize.phone_normalize(raw) == ""


def test_postal_code_gives_its_prefecture():
    assert normalize.postal_code_normalize("〒１００－０００１") == "100-0001"
    assert normalize.postal_code_prefecture("100-0001") == 13  # 東京都千代田区
    assert normalize.postal_code_prefecture("530-0001") == 27  # 大阪府大阪市北区
    assert normalize.postal_code_prefecture("060-0001") == 1  # 北海道札幌市
    assert normalize.postal_code_prefecture("999-9999") is None


def test_name_key_folds_itaiji_and_spaces_but_keeps_distinct_names():
    assert normalize.name_key("髙橋", "一郎") == normalize.name_key("高橋", "一郎")
    assert normalize.name_key("山﨑", "花子") == normalize.name_key("山崎", "花子")
    assert normalize.name_key("山田　", "太郎") == normalize.name_key("山田", "太郎")
    assert normalize.name_key("山田", "太郎") != normalize.name_key("山田", "次郎")


def test_kana_to_romaji_for_search():
    assert normalize.kana_romaji("ヤマダ") == "yamada"
    assert normalize.kana_romaji("たろう") == "tarou"
    assert normalize.kana_romaji("ｻﾄｳ") == "satou"
