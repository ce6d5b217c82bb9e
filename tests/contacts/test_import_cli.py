"""``sokyaku import contacts FILE`` and ``sokyaku export contacts`` as an operator meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sokyaku.campaigns.models import Campaign, Channel, ChannelKind
from sokyaku.cli import build_parser, main
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentRecord
from sokyaku.contacts.models import Contact, ImportJob
from sokyaku.contacts.services import ContactInput, contact_upsert
from tests.contacts.import_files import sjis_csv, utf8_csv

ROWS = [
    ["氏名", "会社名", "メールアドレス", "電話番号"],
    ["山田 太郎", "（株）サンプル", "taro@sample.example", "０３－１２３４－５６７８"],
    ["鈴木 花子", "株式会社ニュー", "hanako@", ""],
    ["田中 三郎", "株式会社ニュー", "saburo", "03-1111-2222"],
]


def _write(tmp_path: Path, data: bytes, name: str = "cards.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("command", ["import", "export"])
def test_the_commands_have_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: sokyaku" in capsys.readouterr().out


@pytest.mark.django_db
def test_import_prints_one_json_line_and_exits_0_with_row_errors(tmp_path, capsys):
    consent_services.topic_save(key="newsletter", name="メールマガジン")
    path = _write(tmp_path, sjis_csv(ROWS))
    argv = ["import", "contacts", path, "--source", "展示会 X", "--legal-basis", "business_card",
            "--tag", "展示会X", "--tag", "名刺"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [json.dumps({"created": 1, "updated": 0, "errors": 2})]
    assert "row 3:" in err and "row 4:" in err
    contact = Contact.objects.get()
    assert sorted(contact.tags.values_list("name", flat=True)) == ["名刺", "展示会X"]
    assert ConsentRecord.objects.get().source_detail == "展示会 X"


@pytest.mark.django_db
def test_import_twice_reports_nothing_new(tmp_path, capsys):
    path = _write(tmp_path, sjis_csv(ROWS))
    assert main(["import", "contacts", path]) == 0
    capsys.readouterr()
    assert main(["import", "contacts", path]) == 0
    assert capsys.readouterr().out == '{"created": 0, "updated": 0, "errors": 2}\n'


@pytest.mark.django_db
def test_import_with_a_mapping_file_channel_and_campaign(tmp_path, capsys):
    show = Channel.objects.create(key="show-x", name="展示会", kind=ChannelKind.TRADE_SHOW)
    Campaign.objects.create(name="展示会 X", channel=show, utm_campaign="show_x")
    path = _write(tmp_path, utf8_csv([["A", "B"], ["taro@sample.example", "山田"]]))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"A": "email", "B": "family_name"}), "utf-8")
    argv = ["import", "contacts", path, "--mapping", str(mapping), "--channel", "show-x",
            "--campaign", "show_x"]  # fmt: skip
    assert main(argv) == 0
    contact = Contact.objects.get()
    assert (contact.family_name, contact.first_touch_channel, contact.latest_touch["campaign"]) == (
        "山田", show, "show_x",
    )  # fmt: skip


@pytest.mark.django_db
def test_import_writes_the_error_report_when_asked(tmp_path, capsys):
    path = _write(tmp_path, utf8_csv(ROWS))
    report = tmp_path / "errors.csv"
    assert main(["import", "contacts", path, "--error-report", str(report)]) == 0
    lines = report.read_bytes().decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "4"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name", "extra", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", [], "Only CSV and Excel"),
        (b"name\r\n\x82\xa0\xff\xfe\x80\x85\r\n", "cards.csv", [], "encoding"),
        (b"", "cards.csv", [], "empty"),
        (utf8_csv(ROWS), "cards.csv", ["--channel", "nope"], "no channel"),
    ],
)
def test_import_of_a_file_that_cannot_be_read_fails_with_one_line(
    tmp_path, capsys, monkeypatch, data, name, extra, message
):
    for variable in ("LANG", "LC_ALL", "LC_MESSAGES"):  # messages in English
        monkeypatch.delenv(variable, raising=False)
    path = _write(tmp_path, data, name)
    status = main(["import", "contacts", path, *extra])
    out, err = capsys.readouterr()
    assert status != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert ImportJob.objects.count() == 0
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_import_with_a_mapping_naming_an_unknown_column_fails(tmp_path, capsys):
    path = _write(tmp_path, utf8_csv(ROWS))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"E-mail": "email"}), "utf-8")
    assert main(["import", "contacts", path, "--mapping", str(mapping)]) != 0
    assert "E-mail" in capsys.readouterr().err
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_import_of_a_missing_file_fails(tmp_path, capsys):
    assert main(["import", "contacts", str(tmp_path / "nope.csv")]) != 0
    assert "cannot read" in capsys.readouterr().err


def test_the_installed_command_end_to_end(tmp_path: Path, migrated_data_dir):
    # given a fresh installation in its own data dir
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "SOKYAKU_DATA_DIR": str(tmp_path / "data"),
        "SOKYAKU_LOG_LEVEL": "WARNING",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "sokyaku.cli", *args],
            env=env, capture_output=True, check=False, timeout=120,
        )  # fmt: skip

    migrated_data_dir(tmp_path / "data")
    path = _write(tmp_path, sjis_csv(ROWS))
    # when a file with row errors is imported
    done = cli("import", "contacts", path, "--legal-basis", "business_card")
    # then stdout is exactly one JSON line and the exit status is 0
    assert done.returncode == 0, done.stderr
    assert done.stdout == b'{"created": 1, "updated": 0, "errors": 2}\n'
    # and the contacts export to stdout as a CSV Excel opens
    exported = cli("export", "contacts")
    assert exported.returncode == 0
    assert exported.stdout.startswith("\ufeff".encode())
    assert "taro@sample.example" in exported.stdout.decode("utf-8-sig")
    # and a file that is not a spreadsheet fails with one line
    bad = cli("import", "contacts", _write(tmp_path, b"\x00\x01\x02", "x.csv"))
    assert bad.returncode != 0 and bad.stdout == b""
    assert len(bad.stderr.decode().strip().splitlines()) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flags", "title", "department"),
    [
        ([], "課長", "情報システム部"),  # the default fills empty fields only
        (["--overwrite", "title"], "部長", "情報システム部"),
        (["--update", "overwrite", "--keep", "department"], "部長", ""),
        (["--update", "keep"], "課長", ""),
    ],
)
def test_import_update_policy_flags(tmp_path, capsys, flags, title, department):
    # given a known person with a title and no department
    contact = contact_upsert(
        data=ContactInput(family_name="山田", email="taro@sample.example", title="課長")
    ).contact
    rows = [["氏名", "メールアドレス", "部署", "役職"],
            ["山田 太郎", "taro@sample.example", "情報システム部", "部長"]]  # fmt: skip
    assert main(["import", "contacts", _write(tmp_path, utf8_csv(rows)), *flags]) == 0
    contact.refresh_from_db()
    assert (contact.title, contact.department) == (title, department)


@pytest.mark.django_db
def test_import_refuses_an_unknown_field_in_a_policy_flag(tmp_path, capsys):
    path = _write(tmp_path, utf8_csv(ROWS))
    assert main(["import", "contacts", path, "--overwrite", "postal_code"]) != 0
    assert Contact.objects.count() == 0
