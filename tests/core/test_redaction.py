"""Taking one person's strings out of text, URLs and JSON (``core.redaction``)."""

from __future__ import annotations

from sokyaku.core.redaction import Redactor

PERSON = Redactor(
    strong={"aoi.tobane@example.jp", "鳥羽根葵衣", "鳥羽根 葵衣"},
    weak={"鳥羽根", "量子物流推進室", "CEO", "7"},
    phones={"090-4321-8765"},
)


def test_a_url_keeps_what_does_not_name_the_person() -> None:
    url = (
        "https://www.example.jp/lp?utm_source=google&utm_medium=cpc"
        "&email=aoi.tobane%40example.jp#form"
    )
    assert PERSON.url(url) == "https://www.example.jp/lp?utm_source=google&utm_medium=cpc#form"


def test_a_url_whose_path_or_host_names_the_person_loses_that_part() -> None:
    assert PERSON.url("https://sns.example/u/%E9%B3%A5%E7%BE%BD%E6%A0%B9?x=1") == (
        "https://sns.example/?x=1"
    )
    assert PERSON.url("https://aoi.tobane@example.jp.example/") == ""
    assert PERSON.url("https://www.example.jp/pricing") == "https://www.example.jp/pricing"


def test_text_that_holds_the_person_is_emptied_whatever_its_width_or_case() -> None:
    assert PERSON.text("ＡＯＩ．ＴＯＢＡＮＥ＠ＥＸＡＭＰＬＥ．ＪＰ から") == ""
    assert PERSON.text("折り返しは 090 4321 8765 まで") == ""
    assert PERSON.text("料金を教えてください") == "料金を教えてください"


def test_weak_strings_count_only_on_rows_already_the_persons() -> None:
    # a surname alone does not name the person among everyone's rows
    assert PERSON.hits("鳥羽根商店", weak=True)
    assert not PERSON.hits("鳥羽根商店", weak=False)
    # and strings too short to mean them are ignored: "7" and a three-letter title
    assert not PERSON.hits("ceo-summit 2027")


def test_json_drops_free_text_keys_and_cleans_every_string() -> None:
    value = {
        "form": "whitepaper",
        "fields": {"question": "料金は？"},
        "url": "https://ex.jp/?ref=ABC&tel=09043218765",
        "notes": ["量子物流推進室の室長", "資料"],
        "amount_jpy": 5000,
        "machine": False,
    }
    assert PERSON.json(value, drop_keys={"fields"}) == {
        "form": "whitepaper",
        "url": "https://ex.jp/?ref=ABC",
        "notes": ["", "資料"],
        "amount_jpy": 5000,
        "machine": False,
    }


def test_json_escaped_text_is_seen_as_what_it_stands_for() -> None:
    assert PERSON.hits('{"name": "\\u9ce5\\u7fbd\\u6839 \\u8475\\u8863"}', weak=False)
