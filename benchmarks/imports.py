"""Contact import against its physical limit.

``size`` contacts are loaded with ``demo_load`` (people only, no behaviour events). Then a
business-card file of ``size`` rows is generated, always the same one, as Excel in Japan writes
it (Shift_JIS, CRLF): half of the rows are people already loaded, written the way cards and
spreadsheets differ from what is stored (full-width digits, （株）/㈱ for 株式会社, upper-case
emails, a full-width space in the name, some with a new title or phone), half are new people
at new companies. The same file is stored two ways:

- ``raw`` (baseline): decode the bytes, ``csv.reader``, split the name at the space, and
  ``cursor.executemany`` the rows into the same ``contacts_contact`` columns in chunks of
  ``run.CHUNK``, one transaction per chunk: the database's own cost of taking the file;
- ``import``: ``contacts.imports.run.import_file``, what ``sokyaku import contacts FILE`` and
  the worker do: read and decode the file (encoding detection), infer the mapping from the
  header, and per chunk of ``run.CHUNK`` rows in one transaction: Japanese normalisation and
  validation, dedupe against the stored contacts (set-based lookups by email, name + company
  and phone), companies, ``bulk_create`` / ``bulk_update``, tags, the timeline events, a
  business-card legal basis per contact and active consent topic, progress and counts.

Each path first runs an untimed warm-up on a separate small file; the raw path's rows are
deleted before the import path runs.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import override_settings

from benchmarks.results import Measurement, Stopwatch
from sokyaku.contacts.imports import reader, run
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.demo.generator import demo_load

HEADER = ["氏名", "フリガナ", "会社名", "部署名", "役職", "メールアドレス", "電話番号",
          "携帯電話", "郵便番号", "住所"]  # fmt: skip
WARM_UP_ROWS = 500
_TITLES = ("部長", "課長", "主任", "マネージャー", "取締役", "担当")
_FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
_GIVEN = ("翔太", "陽菜", "大輔", "美咲", "健一", "結衣", "拓也", "真由美", "直樹", "愛")
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_COLUMNS = ("family_name", "given_name", "family_name_kana", "given_name_kana", "email",
            "phone", "department", "title", "postal_code", "address", "name_key",
            "search_text", "title_level", "custom_fields", "first_touch", "latest_touch",
            "created_at",
            "updated_at", "phone_written", "phone_extension", "phone_needs_review")  # fmt: skip


def _company_variant(name: str, rng: random.Random) -> str:
    """How a card or a spreadsheet writes the same company (the importer must merge them)."""
    for form in ("株式会社", "有限会社"):
        if name.startswith(form):
            return rng.choice(("（株）", "㈱", "(株)")) + name[len(form) :]
        if name.endswith(form):
            return name[: -len(form)] + rng.choice(("（株）", "㈱", " 株式会社"))
    return name


def _known_row(contact: Contact, rng: random.Random) -> list[str]:
    phone = contact.phone.replace("+81", "0") if contact.phone else ""
    if rng.random() < 0.3:  # a new direct line on the card
        phone = f"03-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return [
        f"{contact.family_name}\u3000{contact.given_name}",
        f"{contact.family_name_kana} {contact.given_name_kana}".strip(),
        _company_variant(contact.company.name, rng) if contact.company else "",
        contact.department,
        rng.choice(_TITLES) if rng.random() < 0.3 else contact.title,
        contact.email.upper() if rng.random() < 0.5 else contact.email,
        phone.translate(_FULL_WIDTH),
        "",
        contact.postal_code.translate(_FULL_WIDTH),
        contact.address,
    ]


def _new_row(number: int, rng: random.Random, tag: str) -> list[str]:
    company = f"{tag}テック{number // 20}株式会社"
    return [
        f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}",
        "",
        company if rng.random() < 0.5 else _company_variant(company, rng),
        "営業部",
        rng.choice(_TITLES),
        f"{tag}.{number}@new-{number // 20}.example",
        "",
        f"090-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "千代田区丸の内1-1",
    ]


def _file(rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    text = out.getvalue()
    try:
        return text.encode("cp932")  # what Excel in Japan writes
    except UnicodeEncodeError:  # a name outside Shift_JIS (𠮷): Excel would save UTF-8
        return ("\ufeff" + text).encode("utf-8")


def _cards(size: int, *, seed: int, tag: str) -> bytes:
    rng = random.Random(seed)
    known = size // 2
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    picked = sorted(rng.sample(ids, min(known, len(ids))))
    rows: list[list[str]] = []
    for start in range(0, len(picked), 2000):
        part = picked[start : start + 2000]
        contacts = Contact.objects.select_related("company").in_bulk(part)
        rows += [_known_row(contacts[pk], rng) for pk in part]
    rows += [_new_row(number, rng, tag) for number in range(size - len(rows))]
    rng.shuffle(rows)
    return _file(rows)


def _raw(data: bytes) -> int:
    """Decode, parse and ``executemany`` the rows into the contacts table."""
    text, _encoding = reader.decode(data)
    records = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    next(records)
    ops = connection.ops
    quote = ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(Contact._meta.db_table),
        ", ".join(quote(c) for c in _COLUMNS),
        ", ".join(["%s"] * len(_COLUMNS)),
    )
    now = ops.adapt_datetimefield_value(clock.now())
    empty = ops.adapt_json_value({}, None)
    stored = 0
    chunk: list[tuple[object, ...]] = []

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, chunk)

    for row in records:
        family, _space, given = row[0].replace("\u3000", " ").partition(" ")
        kana_family, _space, kana_given = row[1].partition(" ")
        chunk.append(
            (family, given, kana_family, kana_given, row[5], row[6] or row[7], row[3], row[4],
             row[8], row[9], "", "", 0, empty, empty, empty, now, now, row[6] or row[7], "",
             False)
        )  # fmt: skip
        if len(chunk) == run.CHUNK:
            flush()
            stored += len(chunk)
            chunk = []
    if chunk:
        flush()
        stored += len(chunk)
    return stored


_OPTIONS = run.ImportOptions(
    source="展示会 ベンチ 2026", legal_basis="business_card", tags=["名刺"]
)


def _import(data: bytes) -> int:
    job = run.import_file(data=data, filename="cards.csv", options=_OPTIONS)
    if job.status != "done" or job.error_count:
        raise RuntimeError(f"import: {job.status} {job.message} ({job.error_count} row errors)")
    return job.created_count + job.updated_count + job.unchanged_count


def imports_run(*, size: int, backend: str, data_dir: Path) -> list[Measurement]:
    """Time the raw and the import path on this process's (fresh) database."""
    # The demo users' passwords are never used here: skip the deliberately slow hashing.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        demo_load(contacts=size, seed=1, events=False)
    existing = Contact.objects.count()
    timed = _cards(size, seed=2, tag="t")
    warm_up = _cards(min(WARM_UP_ROWS, size), seed=3, tag="w")
    note = f"chunks of {run.CHUNK}, {existing:,} contacts stored, half the rows known"
    results: list[Measurement] = []

    # raw: warm up, time, then delete what it wrote
    last_id = Contact.objects.aggregate(last=Max("id"))["last"] or 0
    _raw(warm_up)
    Contact.objects.filter(id__gt=last_id).delete()
    watch = Stopwatch()
    with watch.running():
        stored = _raw(timed)
    if stored != size:
        raise RuntimeError(f"raw: stored {stored} of {size} rows")
    Contact.objects.filter(id__gt=last_id).delete()
    results.append(Measurement("imports", backend, "raw", size, watch.seconds, True, note))

    # import: warm up on other people, then the timed file
    _import(warm_up)
    watch = Stopwatch()
    with watch.running():
        stored = _import(timed)
    if stored != size:
        raise RuntimeError(f"import: took {stored} of {size} rows")
    results.append(Measurement("imports", backend, "import", size, watch.seconds, False, note))
    return results
