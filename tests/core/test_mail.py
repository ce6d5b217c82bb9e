"""Mail leaves through a real SMTP conversation, in UTF-8."""

from __future__ import annotations

from django.core.mail import send_mail


def test_japanese_mail_reaches_the_smtp_server_intact(smtp_server):
    send_mail("資料送付のご案内", "山田 太郎 様\nお問い合わせありがとうございます。",
              None, ["taro@example.co.jp"])  # fmt: skip
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "資料送付のご案内"
    assert message["To"] == "taro@example.co.jp"
    assert "山田 太郎 様" in message.get_content()
