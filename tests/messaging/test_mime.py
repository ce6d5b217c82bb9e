"""``mime.mime_build``: what a mail client reads back is what was given, whichever path a header
takes (written as is, encoded as RFC 2047 words, parsed once per batch)."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from sokyaku.messaging import mime

HEADERS = {
    "From": "株式会社サンプル <info@sample.example>",
    "To": "takahashi@example.jp",
    "Subject": "髙橋様 資料ダウンロードのお礼",
    "Date": "Mon, 02 Mar 2026 10:00:00 +0900",
    "Message-ID": "<m42.abcdefabcdefabcd@sokyaku.example>",
    "Reply-To": "support@sample.example",
    "List-Unsubscribe": (
        "<https://sokyaku.example/m/u/42-_lD1vPKPUMKVGbeaP797J/>, "
        "<mailto:unsubscribe+42-_lD1vPKPUMKVGbeaP797J@sokyaku.example>"
    ),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}
TEXT = "髙橋様\n\n資料のご請求ありがとうございます。\nhttps://sample.example/case-study\n"
HTML = (
    "<!DOCTYPE html><html><body><p>髙橋様</p>"
    "<p>資料のご請求ありがとうございます。</p></body></html>"
)
LONG_SUBJECT = (
    "【ウェビナー】製造業のDX推進担当者様向け：生産管理システム刷新の成功事例と"
    "失敗しないベンダー選定のポイント（Re: mixed ASCII words）"
)


def _read(data: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(data, policy=policy.default)


def _content(part) -> str:  # type: ignore[no-untyped-def]
    return str(part.get_content()).replace("\r\n", "\n")  # parts are written with CRLF


def test_headers_and_parts_read_back_as_given() -> None:
    mail = _read(mime.mime_build(headers=HEADERS, text=TEXT, html=HTML))

    assert {name: str(mail[name]) for name in HEADERS} == HEADERS
    assert mail["MIME-Version"] == "1.0"
    assert mail.get_content_type() == "multipart/alternative"
    assert _content(mail.get_body(preferencelist=("plain",))) == TEXT
    assert _content(mail.get_body(preferencelist=("html",))) == HTML + "\n"


def test_the_bytes_are_crlf_lines_of_at_most_78_columns() -> None:
    data = mime.mime_build(
        headers={**HEADERS, "Subject": LONG_SUBJECT}, text=TEXT * 20, html=HTML * 20
    )

    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 78
    assert data.split(b"\r\n\r\n", 1)[0].isascii()


def test_a_long_japanese_subject_is_folded_into_encoded_words_and_reads_back() -> None:
    data = mime.mime_build(headers={**HEADERS, "Subject": LONG_SUBJECT}, text=TEXT, html=HTML)

    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: =?utf-8?b?" in head
    assert _read(data)["Subject"] == LONG_SUBJECT


def test_one_policy_for_a_batch_writes_the_same_bytes_as_a_fresh_one_per_mail() -> None:
    shared = mime.MimePolicy()
    people = [("髙橋", "takahashi@example.jp"), ("佐藤", "sato@example.jp"), ("髙橋", "t@ex.jp")]

    built = [
        (
            mime.mime_build(
                headers={**HEADERS, "To": to, "Subject": f"{name}様 ご案内"},
                text=f"{name}様\n",
                html=f"<p>{name}様</p>",
                policy=policy_,
            )
        )
        for policy_ in (shared, None)
        for name, to in people
    ]

    assert built[:3] == built[3:]


def test_a_header_value_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        mime.mime_build(
            headers={**HEADERS, "Subject": "件名\r\nBcc: everyone@example.jp"}, text=TEXT, html=""
        )


def test_a_part_containing_the_boundary_gets_another_one() -> None:
    text = f"--{mime._BOUNDARY}\n" + TEXT

    mail = _read(mime.mime_build(headers=HEADERS, text=text, html=HTML))

    assert mail.get_boundary() != mime._BOUNDARY
    assert _content(mail.get_body(preferencelist=("plain",))) == text


def test_without_html_the_mail_is_one_text_part() -> None:
    mail = _read(mime.mime_build(headers=HEADERS, text=TEXT, html=""))

    assert mail.get_content_type() == "text/plain"
    assert _content(mail) == TEXT


def test_a_long_list_unsubscribe_is_two_plain_uris_never_encoded_words() -> None:
    # given a one-click URL longer than a header line (a real host name and a long token)
    url = "https://mail.sokyaku-customer.example.co.jp/m/u/1234567-" + "x" * 43 + "/"
    mailto = "mailto:unsubscribe+1234567-" + "x" * 43 + "@mail.sokyaku-customer.example.co.jp"
    value = f"<{url}>, <{mailto}>"

    # when it is written
    data = mime.mime_build(headers={**HEADERS, "List-Unsubscribe": value}, text=TEXT, html=HTML)

    # then mail providers find both URIs as they are, folded only between them
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert f"List-Unsubscribe: <{url}>,\r\n <{mailto}>\r\n" in head
    assert _read(data)["List-Unsubscribe"] == value


def test_a_long_ascii_value_is_folded_before_spaces_and_unfolds_to_itself() -> None:
    subject = "Webinar:  DX for manufacturers - " + "case study " * 8 + " (Q&A  included)"

    data = mime.mime_build(headers={**HEADERS, "Subject": subject}, text=TEXT, html=HTML)

    head = data.split(b"\r\n\r\n", 1)[0].decode()
    written = head.split("Subject: ", 1)[1].split("\r\nDate:", 1)[0]
    assert "\r\n " in written and "=?" not in written
    assert max(len(line) for line in ("Subject: " + written).split("\r\n")) <= 78
    assert written.replace("\r\n", "") == subject
