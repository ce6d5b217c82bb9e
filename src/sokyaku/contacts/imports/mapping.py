"""Which column of a contacts file goes into which contact field, and one row as contact input.

A mapping is ``{column name: field}``; columns not in it are ignored. ``mapping_infer`` proposes
one from the header names, in Japanese or English, including the exports of business-card
scanners (Sansan, Eight), CRMs (HubSpot, Salesforce, Marketo) and sokyaku's own export.

Fields besides the contact's own: ``full_name`` / ``full_name_kana`` are split on the first
full- or half-width space, surname first (山田 太郎 → 山田 / 太郎); a name without a space stays
whole in the family name. ``mobile`` is a second phone column: the contact keeps the mobile
number when the row has one (it reaches the person; a switchboard number is shared by
colleagues and would merge them), else the best of the phone columns (direct line first).
Several columns may go into ``phone``, ``address`` (joined with a space: 住所1 + 住所2) and
``tags``; for other fields the first non-blank column wins. ``cf:<key>`` is a custom field.

Columns a contact has no field for (ブース, アンケート) go to a custom field, a new one named
after the column (``custom_new``, created when the import is configured), or to a ``note``
on the contact's timeline (``ブース: A-12``, one line per column).

What a row does to a value a known contact already has is chosen per field
(``policies_clean``): fill it only when empty (the default), overwrite it, or keep it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.contacts.models import Contact, FieldDefinition, Tag, UpdatePolicy
from sokyaku.contacts.prefectures import PREFECTURES
from sokyaku.contacts.services import ContactInput
from sokyaku.core.errors import ValidationError

IGNORE = ""
CUSTOM_PREFIX = "cf:"

# Field → label, in the order the mapping step offers them.
FIELDS: dict[str, Promise] = {
    "full_name": _("Full name (surname first)"),
    "family_name": _("Family name"),
    "given_name": _("Given name"),
    "full_name_kana": _("Full name (kana)"),
    "family_name_kana": _("Family name (kana)"),
    "given_name_kana": _("Given name (kana)"),
    "email": _("Email"),
    "phone": _("Phone"),
    "mobile": _("Mobile phone"),
    "company_name": _("Company"),
    "department": _("Department"),
    "title": _("Title"),
    "postal_code": _("Postal code"),
    "prefecture": _("Prefecture"),
    "address": _("Address"),
    "tags": _("Tags"),
    "owner": _("Owner"),
    "note": _("Note on the timeline"),
    "custom_new": _("New custom field (named after the column)"),
}
NOTE = "note"
CUSTOM_NEW = "custom_new"
_MULTI = frozenset({"phone", "address", "tags", NOTE, CUSTOM_NEW})
# Fields a row adds to rather than replaces: no update policy applies.
_ADDITIVE = frozenset({"tags", NOTE})
# The contact fields an import field writes (whose stored values its policy governs).
_POLICY_FIELDS: dict[str, tuple[str, ...]] = {
    "full_name": ("family_name", "given_name"),
    "full_name_kana": ("family_name_kana", "given_name_kana"),
    "mobile": ("phone",),
}
# Fields any one of which lets a row be matched again on the next import.
IDENTITY = frozenset({"email", "phone", "mobile"})
NAME_FIELDS = frozenset({"full_name", "family_name", "given_name"})

_TAG_SPLIT_RE = re.compile(r"[,、，;；]")
# Spaces between family and given name; a line break or tab is no separator (a name holding
# one is refused by the contact service).
_SPACE_RE = re.compile(r"[ \u00a0\u3000]+")
_TAG_MAX = int(getattr(Tag._meta.get_field("name"), "max_length", 60))
_COMPANY_MAX = 200


def _norm(header: str) -> str:
    """A header as the synonym tables spell it: NFKC, lower case, no spaces, brackets or marks."""
    value = unicodedata.normalize("NFKC", header).lower()
    value = re.sub(r"[(\[【]?(必須|任意|required|optional)[)\]】]?", "", value)
    return re.sub(r"[\s_\-・:：*※()\[\]【】「」/.]+", "", value)


# Exact names (after ``_norm``). Sansan / Eight / CRM exports and our own export headers are here.
_EXACT: dict[str, str] = {}
for _field, _names in {
    "full_name": (
        "氏名", "名前", "お名前", "氏名漢字", "名前漢字", "フルネーム", "担当者名", "ご担当者名",
        "ご担当者", "ご氏名", "name", "fullname", "contactname", "人物名",
    ),
    "family_name": (
        "姓", "氏", "苗字", "名字", "姓漢字", "lastname", "surname", "familyname", "last",
    ),
    "given_name": ("名", "名漢字", "firstname", "givenname", "first"),
    "full_name_kana": (
        "フリガナ", "ふりがな", "カナ", "かな", "よみ", "ヨミ", "よみがな", "読み", "読みがな",
        "氏名カナ", "氏名かな", "氏名フリガナ", "氏名ふりがな", "名前カナ", "名前フリガナ",
        "お名前フリガナ", "お名前カナ", "kana", "namekana", "furigana", "fullnamekana",
    ),
    "family_name_kana": (
        "セイ", "せい", "姓カナ", "姓かな", "姓フリガナ", "姓ふりがな", "フリガナ姓", "ふりがな姓",
        "カナ姓", "lastnamekana", "familynamekana",
    ),
    "given_name_kana": (
        "メイ", "めい", "名カナ", "名かな", "名フリガナ", "名ふりがな", "フリガナ名", "ふりがな名",
        "カナ名", "firstnamekana", "givennamekana",
    ),
    "email": (
        "メール", "メールアドレス", "eメール", "eメールアドレス", "email", "emailaddress", "mail",
        "mailaddress", "電子メール", "電子メールアドレス", "メアド", "pcメール", "会社メール",
    ),
    "phone": (
        "電話", "電話番号", "tel", "telephone", "phone", "phonenumber", "会社電話", "会社電話番号",
        "代表電話", "代表電話番号", "直通電話", "直通", "tel会社", "tel部門", "tel直通",
        "telephonenumber", "businessphone", "workphone", "連絡先電話番号", "連絡先",
    ),
    "mobile": (
        "携帯", "携帯電話", "携帯番号", "携帯電話番号", "mobile", "mobilephone",
        "mobilephonenumber", "cell", "cellphone", "ケータイ",
    ),
    "company_name": (
        "会社", "会社名", "企業名", "企業", "法人名", "社名", "組織名", "勤務先", "勤務先名",
        "所属", "所属先", "団体名", "company", "companyname", "organization", "organisation",
        "accountname", "account", "貴社名", "御社名",
    ),
    "department": (
        "部署", "部署名", "部門", "部門名", "所属部署", "部課", "部課名", "所属部署名",
        "department", "dept", "division",
    ),
    "title": ("役職", "役職名", "肩書", "肩書き", "title", "jobtitle", "position", "role"),
    "postal_code": (
        "郵便番号", "〒", "郵便", "zip", "zipcode", "postalcode", "postcode",
        "mailingzippostalcode",
    ),
    "prefecture": (
        "都道府県", "都道府県名", "県", "prefecture", "state", "stateregion",
        "mailingstateprovince", "stateprovince",
    ),
    "address": (
        "住所", "所在地", "住所1", "住所2", "住所3", "番地", "市区町村", "市区町村番地",
        "町名番地", "建物名", "ビル名", "建物", "住所建物名", "address", "address1", "address2",
        "street", "streetaddress", "city", "mailingstreet", "mailingcity", "会社住所",
    ),
    "tags": ("タグ", "tags", "tag", "ラベル"),
    "owner": (
        "担当者", "担当営業", "営業担当", "営業担当者", "所有者", "owner", "contactowner",
        "leadowner",
    ),
    IGNORE: (
        "行", "行番号", "エラー", "エラー内容", "row", "rownumber", "error", "errors", "fax",
        "fax番号", "url", "ホームページ", "website", "名刺交換日", "交換日", "id",
    ),
}.items():  # fmt: skip
    for _name in _names:
        _EXACT[_norm(_name)] = _field

_PERSON_IN_CHARGE = frozenset({"担当者", "担当"})

# Keywords, tried in order, for headers not in the table ("メールアドレス（会社）").
_CONTAINS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("fax",), IGNORE),
    (("携帯", "mobile", "cell"), "mobile"),
    (("メール", "mail"), "email"),
    (("フリガナ", "ふりがな", "カナ", "かな", "よみ", "ヨミ", "kana"), "kana"),
    (("郵便", "zip", "postal"), "postal_code"),
    (("都道府県",), "prefecture"),
    (("住所", "所在地", "番地", "address", "street"), "address"),
    (("電話", "tel", "phone"), "phone"),
    (("会社", "企業", "法人", "company"), "company_name"),
    (("部署", "部門", "department"), "department"),
    (("役職", "肩書", "title"), "title"),
    (("氏名", "名前"), "full_name"),
)


def _kana_field(key: str) -> str:
    if any(k in key for k in ("姓", "せい", "セイ", "last", "family")):
        return "family_name_kana"
    if any(k in key for k in ("名", "めい", "メイ", "first", "given")) and "氏名" not in key:
        return "given_name_kana"
    return "full_name_kana"


def field_for_header(header: str, *, custom: Mapping[str, str] | None = None) -> str:
    """The field a column of this name most likely holds (``IGNORE`` when none).

    ``custom`` maps normalised custom-field labels and keys to their ``cf:<key>`` field.
    """
    key = _norm(header)
    if not key:
        return IGNORE
    if key in _EXACT:
        return _EXACT[key]
    if custom and key in custom:
        return custom[key]
    for words, target in _CONTAINS:
        if any(word in key for word in words):
            return _kana_field(key) if target == "kana" else target
    return IGNORE


def field_choices(definitions: Iterable[FieldDefinition]) -> list[tuple[str, str]]:
    """(field, label) for the mapping step: "do not import", the fields, the custom fields."""
    return [
        (IGNORE, gettext("— Do not import —")),
        *((name, str(label)) for name, label in FIELDS.items()),
        *((f"{CUSTOM_PREFIX}{d.key}", d.label) for d in definitions),
    ]


def mapping_infer(
    headers: Sequence[str], *, definitions: Iterable[FieldDefinition] = ()
) -> dict[str, str]:
    """A mapping for ``headers``: each single-value field goes to the first column that names it."""
    custom: dict[str, str] = {}
    for definition in definitions:
        custom[_norm(definition.label)] = f"{CUSTOM_PREFIX}{definition.key}"
        custom[_norm(definition.key)] = f"{CUSTOM_PREFIX}{definition.key}"
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = field_for_header(header, custom=custom)
        if target == IGNORE or (target in taken and target not in _MULTI):
            continue
        # Both halves and the whole name: the halves win (no split to guess).
        mapping[header] = target
        taken.add(target)
    if not taken & NAME_FIELDS:
        # 担当者 is our export's owner column, but in a list of customers without another name
        # column it is the customer's contact person (ご担当者).
        for header, target in mapping.items():
            if target == "owner" and _norm(header) in _PERSON_IN_CHARGE:
                mapping[header] = "full_name"
                taken.add("full_name")
    if {"family_name", "given_name"} <= taken:
        mapping = {h: f for h, f in mapping.items() if f != "full_name"}
    if {"family_name_kana", "given_name_kana"} <= taken:
        mapping = {h: f for h, f in mapping.items() if f != "full_name_kana"}
    return mapping


def mapping_check(
    mapping: Mapping[str, str],
    *,
    headers: Sequence[str],
    definitions: Iterable[FieldDefinition] = (),
) -> dict[str, str]:
    """``mapping`` without ignored columns, checked against the file's columns and the fields.

    Raises ``ValidationError`` for a column the file does not have, an unknown field, a
    single-value field given twice, or a mapping that names no email, phone or name column.
    """
    known = set(FIELDS) | {f"{CUSTOM_PREFIX}{d.key}" for d in definitions}
    columns = set(headers)
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for column, target in mapping.items():
        target = (target or "").strip()
        if target == IGNORE:
            continue
        if column not in columns:
            raise ValidationError(
                gettext("The file has no column “%(column)s”.") % {"column": column},
                field_errors={"mapping": column},
            )
        if target not in known:
            raise ValidationError(
                gettext("Unknown field “%(field)s” for column “%(column)s”.")
                % {"field": target, "column": column},
                field_errors={"mapping": column},
            )
        if target in seen and target not in _MULTI:
            raise ValidationError(
                gettext("Two columns go into the same field “%(field)s”.")
                % {"field": FIELDS.get(target, target)},
                field_errors={"mapping": column},
            )
        seen.add(target)
        checked[column] = target
    if not seen & (IDENTITY | NAME_FIELDS):
        raise ValidationError(
            gettext("Choose at least the column with the email, phone number or name."),
            field_errors={"mapping": "identity"},
        )
    return checked


def policy_targets(mapping: Mapping[str, str]) -> list[str]:
    """The import fields of ``mapping`` an update policy can be chosen for, in mapping order
    (``full_name`` → ``family_name``, ``given_name``; tags and notes only ever add)."""
    targets: list[str] = []
    for target in mapping.values():
        if target in _ADDITIVE or target in (IGNORE, CUSTOM_NEW):
            continue
        for name in _POLICY_FIELDS.get(target, (target,)):
            if name not in targets:
                targets.append(name)
    return targets


def policies_clean(policies: Mapping[str, str], *, mapping: Mapping[str, str]) -> dict[str, str]:
    """Per contact field, the policy chosen for the import field (or column's field) that
    writes it: ``{"title": "overwrite", "full_name": "keep"}`` → ``{"title": "overwrite",
    "family_name": "keep", "given_name": "keep"}``. ``"*"`` is the policy of every field not
    named; fields not named otherwise fill empty values only.

    Raises ``ValidationError`` for an unknown policy or a field the mapping does not import.
    """
    mapped = set(mapping.values())
    cleaned: dict[str, str] = {}
    default = policies.get("*")
    if default is not None:
        if default not in UpdatePolicy.values:
            raise ValidationError(
                gettext("Unknown update policy “%(policy)s”.") % {"policy": default},
                field_errors={"policies": "*"},
            )
        cleaned = dict.fromkeys(policy_targets(mapping), default)
    for name, policy in policies.items():
        if name == "*" or mapping.get(name) == CUSTOM_NEW:
            continue  # a new custom field's column: its policy is taken when it is created
        if policy not in UpdatePolicy.values:
            raise ValidationError(
                gettext("Unknown update policy “%(policy)s”.") % {"policy": policy},
                field_errors={"policies": name},
            )
        if name not in mapped and name not in policy_targets(mapping):
            raise ValidationError(
                gettext("No column is imported into “%(field)s”.")
                % {"field": FIELDS.get(name, name)},
                field_errors={"policies": name},
            )
        for target in _POLICY_FIELDS.get(name, (name,)):
            cleaned[target] = policy
    return cleaned


# --- one row --------------------------------------------------------------------------------


@dataclass
class RowInput:
    """One row as contact input, or what is wrong with it before the contact services look."""

    data: ContactInput | None
    errors: dict[str, str] = field(default_factory=dict)
    # Owner named in the row (username, email or name), resolved by the caller.
    owner: str = ""
    # A full name without a space: which part is the surname is learnt from stored contacts.
    unsplit_name: str = ""
    unsplit_kana: str = ""
    # What the row says, field by field, as written (for a preview of a row with errors).
    given: dict[str, Any] = field(default_factory=dict)
    # The lines of the timeline note the row's ``note`` columns make ("ブース: A-12").
    note: str = ""


def _split(full: str) -> tuple[str, str]:
    parts = _SPACE_RE.split(full.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def _phone_rank(header: str) -> int:
    """Which phone column to keep first: direct line, plain, department, switchboard."""
    key = _norm(header)
    if "直通" in key or "direct" in key:
        return 0
    if "部門" in key or "部署" in key:
        return 2
    if "代表" in key or "会社" in key or "main" in key:
        return 3
    return 1


_PREFECTURE_PREFIXES = sorted((ja for _code, ja, _en in PREFECTURES), key=len, reverse=True)


def row_input(
    cells: Sequence[str],
    *,
    headers: Sequence[str],
    mapping: Mapping[str, str],
    tags: Sequence[str] = (),
) -> RowInput:
    """What one row says about a person (``mapping`` from ``mapping_check``), plus the file's
    ``tags``. Values are passed on as written; the contact services normalise and validate."""
    position = {header: index for index, header in enumerate(headers)}
    values: dict[str, list[tuple[str, str]]] = {}
    for column, target in mapping.items():
        value = cells[position[column]].strip()
        if value:
            values.setdefault(target, []).append((column, value))

    def first(name: str) -> str | None:
        found = values.get(name)
        return found[0][1] if found else None

    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    result = RowInput(data=None)
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        if (given_value := first(name)) is not None:
            data[name] = given_value
    if (full := first("full_name")) is not None and "family_name" not in data:
        family, given = _split(full)
        data["family_name"] = family
        if given:
            data["given_name"] = given
        elif "given_name" not in data:
            result.unsplit_name = family
    if (kana := first("full_name_kana")) is not None and "family_name_kana" not in data:
        family, given = _split(kana)
        data["family_name_kana"] = family
        if given:
            data["given_name_kana"] = given
        elif "given_name_kana" not in data:
            result.unsplit_kana = family
    for name in ("email", "department", "title", "prefecture"):
        if (given_value := first(name)) is not None:
            data[name] = given_value
    if (company := first("company_name")) is not None:
        if len(company) > _COMPANY_MAX:
            errors["company_name"] = f"At most {_COMPANY_MAX} characters."
        data["company_name"] = company
    phones = sorted(values.get("phone", []), key=lambda item: _phone_rank(item[0]))
    phone = first("mobile") or (phones[0][1] if phones else None)
    if phone is not None:
        data["phone"] = phone
    if (postal := first("postal_code")) is not None:
        # A postal code typed into a number cell lost its leading zero (060-0001 → 600001).
        data["postal_code"] = postal.zfill(7) if postal.isdecimal() and len(postal) == 6 else postal
    if "address" in values:
        address = " ".join(value for _column, value in values["address"])
        if "prefecture" not in data:
            for name in _PREFECTURE_PREFIXES:
                if address.startswith(name):
                    data["prefecture"] = name
                    address = address[len(name) :].strip()
                    break
        data["address"] = address
    names = [t.strip() for t in tags if t.strip()]
    for _column, value in values.get("tags", []):
        names += [t.strip() for t in _TAG_SPLIT_RE.split(value) if t.strip()]
    if names:
        if any(len(t) > _TAG_MAX for t in names):
            errors["tags"] = f"At most {_TAG_MAX} characters."
        data["tags"] = list(dict.fromkeys(names))
    custom = {
        target.removeprefix(CUSTOM_PREFIX): found[0][1]
        for target, found in values.items()
        if target.startswith(CUSTOM_PREFIX)
    }
    if custom:
        data["custom_fields"] = custom
    result.owner = first("owner") or ""
    result.note = "\n".join(f"{column}: {value}" for column, value in values.get(NOTE, []))
    # Columns for a custom field still to be created: shown in the preview by their column.
    new_custom = {column: value for column, value in values.get(CUSTOM_NEW, [])}
    result.given = {**data, **({"custom_new": new_custom} if new_custom else {})}
    has_identity = data.get("email") or data.get("phone")
    has_name = data.get("family_name") or data.get("given_name")
    if not has_identity and not has_name:
        errors["email"] = "Enter an email, a phone number or a name."
    elif not has_identity and not data.get("company_name"):
        # A name alone cannot be recognised again: every import would add the person anew.
        errors["company_name"] = "A row with neither email nor phone needs a company name."
    if errors:
        result.errors = errors
        return result
    result.data = ContactInput.from_mapping(data)
    return result


def name_split(whole: str, *, stored: Iterable[Contact], kana: bool = False) -> tuple[str, str]:
    """Split a name written without a space as a stored contact with that name splits it
    (山田太郎 → 山田 / 太郎 when 山田 太郎 exists); ``(whole, "")`` when none does."""
    from sokyaku.contacts import normalize

    target = normalize.search_key(whole)
    for contact in stored:
        family, given = (
            (contact.family_name_kana, contact.given_name_kana)
            if kana
            else (contact.family_name, contact.given_name)
        )
        if family and given and normalize.search_key(family + given) == target:
            cut = _cut(whole, family)
            if cut is not None:
                return whole[:cut], whole[cut:]
    return whole, ""


def _cut(whole: str, family: str) -> int | None:
    """Where ``family`` ends in ``whole``, comparing normalised prefixes (widths, kana, 異体字)."""
    from sokyaku.contacts import normalize

    key = normalize.search_key(family)
    for cut in range(1, len(whole)):
        if normalize.search_key(whole[:cut]) == key:
            return cut
    return None
