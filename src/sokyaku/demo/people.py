"""Demo companies and the people who work there, as rows for ``contacts.bulk``.

Companies get a name that no earlier company has (by match key), a domain under a reserved
example zone, an industry, size, revenue, prefecture, an account owner and an email address
format (``taro.yamada``, ``t.yamada``, ``yamada-t`` …) that all its people share. People are
drawn company by company (bigger companies have more known contacts); some have no company and a
free-mail address. Each person's journey (``behaviour.journey``) decides their first-touch
channel, creation time, tags and events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers

from sokyaku.contacts import bulk, normalize
from sokyaku.contacts.models import Industry
from sokyaku.contacts.prefectures import PREFECTURES
from sokyaku.demo import names
from sokyaku.demo.behaviour import Draft, journey, stranger
from sokyaku.demo.names import Word
from sokyaku.demo.stream import Stream, Weighted

_EMAIL_FORMATS = ("{g}.{f}", "{f}.{g}", "{gi}.{f}", "{f}-{gi}", "{f}_{g}", "{f}.{gi}")
_FREE_MAIL_FORMATS = ("{g}.{f}{n}", "{f}{g}{n}", "{g}_{f}{n}", "{f}.{g}{n}", "{g}{n}")
_SMALL_BANDS = ("1-9", "10-49")
_BIG_BANDS = ("100-299", "300-999", "1000-4999", "5000+")
_DECISION_TITLES = frozenset({"代表取締役", "取締役", "執行役員", "部長", "次長"})
# Of all draws, this many are a person without a company (B2C-like, free-mail address).
_LONE_PERSON = 0.17
# Visitors who never identify, per person in a chunk.
_STRANGERS_PER_PERSON = 0.3


def _weighted(pairs: tuple[tuple[str, float], ...]) -> Weighted[str]:
    return Weighted([item for item, _w in pairs], [w for _item, w in pairs])


_INDUSTRIES = Weighted(list(names.INDUSTRY_WEIGHTS), list(names.INDUSTRY_WEIGHTS.values()))
_BANDS = Weighted(names.EMPLOYEE_BANDS, [band[1] for band in names.EMPLOYEE_BANDS])
_PREFECTURES = Weighted(
    [code for code, _ja, _en in PREFECTURES],
    [
        names.PREFECTURE_WEIGHTS.get(code, names.OTHER_PREFECTURE_WEIGHT)
        for code, _ja, _en in PREFECTURES
    ],
)
_SURNAMES = Weighted(names.SURNAMES, names.SURNAME_WEIGHTS)
_TITLES = _weighted(names.TITLES)
_DEPARTMENTS = _weighted(names.DEPARTMENTS)
_FACTORY_DEPARTMENTS = _weighted(names.DEPARTMENTS + names.MANUFACTURING_DEPARTMENTS)
_ZONES = _weighted(names.COMPANY_DOMAIN_ZONES)


@dataclass
class CompanyPlan:
    row: bulk.CompanyRow
    prefecture: int
    industry: str
    band: str
    size: int  # how many of its people the load has
    email_format: str
    domain: str
    owner_id: int | None
    locals: set[str] = field(default_factory=set)


@dataclass
class Person:
    row: bulk.ContactRow
    drafts: list[Draft]
    stitch: tuple[str, datetime] | None


@dataclass
class Chunk:
    companies: list[CompanyPlan]
    people: list[Person]
    strangers: list[Draft]  # page views of visitors who never identify


class People:
    """Draws companies and people from ``stream`` in a fixed order."""

    def __init__(
        self,
        stream: Stream,
        *,
        channel_ids: dict[str, int],
        rep_ids: list[int],
        cover_industries: bool,
    ) -> None:
        self.stream = stream
        self.rng = stream.rng
        self.channel_ids = channel_ids
        self.rep_ids = rep_ids
        self.used_company_keys: set[str] = set()
        self.used_domains: set[str] = set(names.FREE_MAIL_DOMAINS)
        self.used_free_mail: set[str] = set()
        self.company_serial = 0
        industries = list(Industry.values)
        self.rng.shuffle(industries)
        self.forced_industries = industries if cover_industries else []

    def chunks(self, total: int, *, size: int) -> Iterator[Chunk]:
        """``total`` people, company by company, cut into chunks of at least ``size`` people
        (a company is never split)."""
        companies: list[CompanyPlan] = []
        people: list[Person] = []
        made = 0
        while made < total:
            if self.rng.random() < _LONE_PERSON:
                people.append(self.person(None))
                made += 1
            else:
                plan = self.company()
                staff = [self.person(plan) for _ in range(min(plan.size, total - made))]
                made += len(staff)
                plan.row.created_at = min(p.row.created_at or self.stream.cal.now for p in staff)
                companies.append(plan)
                people += staff
            if len(people) >= size or made >= total:
                count = int(len(people) * _STRANGERS_PER_PERSON)
                strangers = [d for _ in range(count) for d in stranger(self.stream)]
                yield Chunk(companies=companies, people=people, strangers=strangers)
                companies, people = [], []

    # -- companies -------------------------------------------------------------------------------

    def company(self) -> CompanyPlan:
        rng = self.rng
        serial = self.company_serial
        self.company_serial += 1
        # Every JSIC division appears in a large enough load: every 8th of the first 160.
        if serial % 8 == 7 and serial // 8 < len(self.forced_industries):
            industry = self.forced_industries[serial // 8]
        else:
            industry = _INDUSTRIES.pick(rng)
        band, _weight, revenues, (low, high) = _BANDS.pick(rng)
        prefecture = _PREFECTURES.pick(rng)
        name, kana, slug, place = self._name(industry, band)
        prefecture = place or prefecture
        government = industry == Industry.GOVERNMENT
        zone = names.GOVERNMENT_DOMAIN_ZONE if government else _ZONES.pick(rng)
        domain, number = f"{slug}.{zone}", 2
        while domain in self.used_domains:
            domain, number = f"{slug}{number}.{zone}", number + 1
        self.used_domains.add(domain)
        owner = rng.choice(self.rep_ids) if self.rep_ids and rng.random() < 0.85 else None
        return CompanyPlan(
            row=bulk.CompanyRow(
                name=name,
                name_kana=kana,
                domain=domain,
                industry=industry,
                employee_band=band,
                revenue_band=rng.choice(revenues),
                prefecture=prefecture,
                owner_id=owner,
            ),
            prefecture=prefecture,
            industry=industry,
            band=band,
            size=rng.randint(low, high),
            email_format=rng.choice(_EMAIL_FORMATS),
            domain=domain,
            owner_id=owner,
        )

    def _stem(self, suffix: Word, industry: str) -> list[Word]:
        rng = self.rng
        roll = rng.random()
        if suffix.text in names.SURNAME_SUFFIXES and roll < 0.45:
            return [_SURNAMES.pick(rng)]
        if industry == Industry.UTILITIES:
            return [rng.choice(names.KATAKANA_STEMS)]
        if roll < 0.62:
            return [rng.choice(names.KATAKANA_STEMS if rng.random() < 0.5 else names.CLASSIC_STEMS)]
        return [rng.choice(names.CLASSIC_STEMS), rng.choice(names.KATAKANA_STEMS)]

    def _name(self, industry: str, band: str) -> tuple[str, str, str, int | None]:
        """(name, kana, domain slug, prefecture it implies) of a company name not used yet."""
        rng = self.rng
        name = kana = slug = ""
        place = None
        for attempt in range(30):
            if industry == Industry.GOVERNMENT:
                city = rng.choice(names.GOVERNMENT_CITIES)
                bureau = rng.choice(names.GOVERNMENT_BUREAUS)
                name, kana = city.text + bureau.text, city.kana + bureau.kana
                slug = f"city-{city.romaji}"
                if bureau.romaji != "office":
                    slug += f"-{bureau.romaji}"
                place = names.GOVERNMENT_CITY_PREFECTURES[city.romaji]
            else:
                suffix = rng.choice(names.INDUSTRY_SUFFIXES[industry])
                parts = [*self._stem(suffix, industry), suffix]
                # Many names are taken in a large load: add a region, as subsidiaries do.
                if attempt >= 10:
                    parts.append(rng.choice(names.REGION_QUALIFIERS))
                core = "".join(p.text for p in parts)
                kana = "".join(p.kana for p in parts)
                slug = "-".join(p.romaji for p in parts)
                name = self._legal_form(core, industry, band)
            key = normalize.company_key(name)
            if key not in self.used_company_keys:
                self.used_company_keys.add(key)
                return name, kana, slug, place
        # Only in loads of hundreds of thousands of companies: number the last candidate.
        serial = self.company_serial
        name = f"{name}{serial}"
        self.used_company_keys.add(normalize.company_key(name))
        return name, kana, f"{slug}-{serial}", place

    def _legal_form(self, core: str, industry: str, band: str) -> str:
        roll = self.rng.random()
        small = band in _SMALL_BANDS
        if roll < 0.52:
            return f"株式会社{core}"
        if small and roll < 0.56:
            return f"有限会社{core}"
        if small and roll < 0.60 and industry in (Industry.INFORMATION, Industry.PROFESSIONAL):
            return f"合同会社{core}"
        return f"{core}{names.LEGAL_FORM_AFTER}"

    # -- people ----------------------------------------------------------------------------------

    def person(self, plan: CompanyPlan | None) -> Person:
        rng = self.rng
        female = rng.random() < 0.4
        family = _SURNAMES.pick(rng)
        given = rng.choice(names.GIVEN_NAMES_FEMALE if female else names.GIVEN_NAMES_MALE)
        if plan is None or rng.random() < 0.04:
            email = self._free_mail(family, given)
        else:
            email = self._work_mail(plan, family, given)
        prefecture = plan.prefecture if plan else _PREFECTURES.pick(rng)
        title = department = ""
        if plan is not None:
            title = _TITLES.pick(rng)
            if plan.band in _SMALL_BANDS and rng.random() < 0.12:
                title = "代表取締役"
            if title in names.EXECUTIVE_TITLES:
                department = rng.choice(names.EXECUTIVE_DEPARTMENTS)
            elif plan.industry == Industry.MANUFACTURING:
                department = _FACTORY_DEPARTMENTS.pick(rng)
            else:
                department = _DEPARTMENTS.pick(rng)
        phone = ""
        if rng.random() < 0.75:
            phone = self._phone(prefecture, mobile=plan is None or rng.random() < 0.45)
        story = journey(
            self.stream,
            has_company=plan is not None,
            big_company=plan is not None and plan.band in _BIG_BANDS,
            decision_maker=title in _DECISION_TITLES,
        )
        postal_code = address = ""
        if rng.random() < (0.9 if story.channel == "trade-show" else 0.4):
            postal_code, city, town = rng.choice(names.POSTAL_ADDRESSES[prefecture])
            address = f"{city}{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}"
        owner = None
        if plan is not None and (story.level != "cold" or rng.random() < 0.4):
            owner = plan.owner_id
        elif story.level == "hot" and self.rep_ids:
            owner = rng.choice(self.rep_ids)
        row = bulk.ContactRow(
            family_name=family.text,
            given_name=given.text,
            family_name_kana=family.kana,
            given_name_kana=given.kana,
            email=email,
            phone=phone,
            company_name=plan.row.name if plan else None,
            department=department,
            title=title,
            postal_code=postal_code,
            prefecture=prefecture if (postal_code or plan) else None,
            address=address,
            owner_id=owner,
            tags=story.tags,
            first_touch_channel_id=self.channel_ids[story.channel],
            created_at=story.created_at,
        )
        return Person(row=row, drafts=story.drafts, stitch=story.stitch)

    def _work_mail(self, plan: CompanyPlan, family: Word, given: Word) -> str:
        local = plan.email_format.format(g=given.romaji, f=family.romaji, gi=given.romaji[0])
        candidate, number = local, 2
        while candidate in plan.locals:
            candidate, number = f"{local}{number}", number + 1
        plan.locals.add(candidate)
        return f"{candidate}@{plan.domain}"

    def _free_mail(self, family: Word, given: Word) -> str:
        rng = self.rng
        domain = rng.choice(names.FREE_MAIL_DOMAINS)
        for _attempt in range(20):
            style = rng.random()
            if style < 0.4:
                number = str(rng.randint(70, 99))  # birth year
            elif style < 0.7:
                number = f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"  # birthday
            else:
                number = str(rng.randint(0, 999))
            local = rng.choice(_FREE_MAIL_FORMATS).format(g=given.romaji, f=family.romaji, n=number)
            address = f"{local}@{domain}"
            if address not in self.used_free_mail:
                self.used_free_mail.add(address)
                return address
        address = f"{given.romaji}.{family.romaji}.{len(self.used_free_mail)}@{domain}"
        self.used_free_mail.add(address)
        return address

    def _phone(self, prefecture: int, *, mobile: bool) -> str:
        """A valid Japanese number: mobile (090/080/070) or a landline in the prefecture."""
        rng = self.rng
        for _attempt in range(10):
            if mobile:
                prefix = rng.choice(names.MOBILE_PREFIXES)
                number = f"{prefix}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
            else:
                area = names.AREA_CODES[prefecture]
                digits = str(rng.randint(2 * 10 ** (9 - len(area)), 10 ** (10 - len(area)) - 1))
                number = f"{area}-{digits[:-4]}-{digits[-4:]}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number, "JP")):
                return number
            mobile = True  # some exchanges do not exist; a mobile number always does
        return ""
