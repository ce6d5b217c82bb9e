"""Contacts (people) and companies.

Display values are kept exactly as entered; ``*_key`` columns hold the normalised forms used for
dedupe and search (see ``normalize.py``). A merged row is kept with ``merged_into`` set so the
merge can be undone; every uniqueness rule applies to live rows only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sokyaku.contacts.prefectures import PREFECTURES, prefecture_name

PREFECTURE_CHOICES = [(code, ja) for code, ja, _en in PREFECTURES]


class Industry(models.TextChoices):
    """日本標準産業分類 (JSIC) divisions."""

    AGRICULTURE = "A", _("Agriculture and forestry")
    FISHERIES = "B", _("Fisheries")
    MINING = "C", _("Mining and quarrying")
    CONSTRUCTION = "D", _("Construction")
    MANUFACTURING = "E", _("Manufacturing")
    UTILITIES = "F", _("Electricity, gas, heat supply and water")
    INFORMATION = "G", _("Information and communications")
    TRANSPORT = "H", _("Transport and postal activities")
    TRADE = "I", _("Wholesale and retail trade")
    FINANCE = "J", _("Finance and insurance")
    REAL_ESTATE = "K", _("Real estate and goods rental and leasing")
    PROFESSIONAL = "L", _("Scientific research, professional and technical services")
    HOSPITALITY = "M", _("Accommodations, eating and drinking services")
    LIVING = "N", _("Living-related and personal services and amusement services")
    EDUCATION = "O", _("Education, learning support")
    MEDICAL = "P", _("Medical, health care and welfare")
    COMPOUND = "Q", _("Compound services")
    SERVICES = "R", _("Services, not elsewhere classified")
    GOVERNMENT = "S", _("Government")
    UNCLASSIFIED = "T", _("Industries unable to classify")


class EmployeeBand(models.TextChoices):
    B1_9 = "1-9", _("1–9 employees")
    B10_49 = "10-49", _("10–49 employees")
    B50_99 = "50-99", _("50–99 employees")
    B100_299 = "100-299", _("100–299 employees")
    B300_999 = "300-999", _("300–999 employees")
    B1000_4999 = "1000-4999", _("1,000–4,999 employees")
    B5000 = "5000+", _("5,000 employees or more")

    @classmethod
    def for_count(cls, count: int) -> EmployeeBand:
        """The band a head count falls in."""
        fitting = [band for band in cls if count >= band.minimum]
        return fitting[-1] if fitting else cls.B1_9

    @property
    def minimum(self) -> int:
        return int(self.value.split("-")[0].rstrip("+"))


class TitleLevel(models.IntegerChoices):
    """How senior a job title is (役職レベル), derived from the title as written."""

    UNKNOWN = 0, _("Unknown")
    STAFF = 1, _("Staff")
    SUPERVISOR = 2, _("Supervisor (係長・主任)")
    MANAGER = 3, _("Manager (課長・次長)")
    DIRECTOR = 4, _("Director (部長)")
    EXECUTIVE = 5, _("Executive (役員)")


class RevenueBand(models.TextChoices):
    UNDER_100M = "<100m", _("Under ¥100 million")
    R100M_1B = "100m-1b", _("¥100 million – ¥1 billion")
    R1B_5B = "1b-5b", _("¥1 – 5 billion")
    R5B_10B = "5b-10b", _("¥5 – 10 billion")
    R10B_50B = "10b-50b", _("¥10 – 50 billion")
    R50B_100B = "50b-100b", _("¥50 – 100 billion")
    OVER_100B = "100b+", _("¥100 billion or more")


class Company(models.Model):
    name = models.CharField(_("company name"), max_length=200)
    name_kana = models.CharField(_("company name (kana)"), max_length=200, blank=True)
    match_key = models.CharField(max_length=200, db_index=True, editable=False)
    domain = models.CharField(_("domain"), max_length=253, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=1, choices=Industry.choices, blank=True)
    employee_band = models.CharField(
        _("employees"), max_length=10, choices=EmployeeBand.choices, blank=True
    )
    revenue_band = models.CharField(
        _("revenue"), max_length=10, choices=RevenueBand.choices, blank=True
    )
    prefecture = models.PositiveSmallIntegerField(
        _("prefecture"), choices=PREFECTURE_CHOICES, null=True, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_companies",
        verbose_name=_("owner"),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.UniqueConstraint(
                fields=["match_key"],
                condition=models.Q(merged_into__isnull=True) & ~models.Q(match_key=""),
                name="company_unique_live_match_key",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prefecture_name(self) -> str:
        return prefecture_name(self.prefecture)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Choice")


class FieldDefinition(models.Model):
    """A custom contact field: ``Contact.custom_fields[key]`` holds a value of ``type``."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label


class Contact(models.Model):
    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    family_name_kana = models.CharField(_("family name (kana)"), max_length=100, blank=True)
    given_name_kana = models.CharField(_("given name (kana)"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164"))
    # The phone number as it was given (内線, （代表）…), and its extension. A number that could
    # not be read leaves ``phone`` empty, keeps ``phone_written`` and is marked for review.
    phone_written = models.CharField(_("phone (as written)"), max_length=100, blank=True)
    phone_extension = models.CharField(_("extension"), max_length=10, blank=True)
    phone_needs_review = models.BooleanField(_("check phone number"), default=False, db_index=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("company"),
    )
    department = models.CharField(_("department"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    # Derived from ``title`` by ``normalize.title_level`` whenever the keys are refreshed.
    title_level = models.PositiveSmallIntegerField(
        _("title level"), choices=TitleLevel.choices, default=TitleLevel.UNKNOWN, editable=False
    )
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    prefecture = models.PositiveSmallIntegerField(
        _("prefecture"), choices=PREFECTURE_CHOICES, null=True, blank=True
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        verbose_name=_("owner"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    first_touch_channel = models.ForeignKey(
        "campaigns.Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="first_touch_contacts",
        verbose_name=_("first-touch channel"),
    )
    latest_touch_channel = models.ForeignKey(
        "campaigns.Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="latest_touch_contacts",
        verbose_name=_("latest-touch channel"),
    )
    # {"source", "medium", "campaign", "term", "content", "referrer", "url", "at"} of the touch.
    first_touch = models.JSONField(_("first touch"), default=dict, blank=True)
    latest_touch = models.JSONField(_("latest touch"), default=dict, blank=True)
    # Normalised forms, written by the services only.
    name_key = models.CharField(max_length=200, blank=True, editable=False)
    # NULL, not "": a contact with no identity yet must not collide with another one.
    dedupe_key = models.CharField(  # noqa: DJ001
        max_length=300, null=True, blank=True, editable=False
    )
    search_text = models.TextField(blank=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    # Set when the person was erased at their request (``privacy``): the row stays, without
    # anything that says who they were, so the numbers that count them stay right.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [
            # Without it a user sees only the contacts they own (their team's when the team
            # shares records): the sales rep's view.
            ("view_all_contacts", _("Can see every contact")),
            ("export_contacts", _("Can export contacts in bulk")),
        ]
        constraints = [
            # The identity the dedupe rules give a person (email, else name + company, else
            # phone): two live contacts can never share it, even when two requests race.
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=models.Q(merged_into__isnull=True),
                name="contact_unique_live_dedupe_key",
            ),
        ]
        indexes = [
            models.Index(fields=["email"], name="contact_email_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["name_key", "company"], name="contact_name_company_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email or f"#{self.pk}"

    @property
    def display_name(self) -> str:
        """Surname first, as Japanese names are written."""
        if self.family_name and self.given_name:
            return f"{self.family_name} {self.given_name}"
        return self.family_name or self.given_name

    @property
    def display_name_kana(self) -> str:
        return " ".join(p for p in (self.family_name_kana, self.given_name_kana) if p)

    @property
    def prefecture_name(self) -> str:
        return prefecture_name(self.prefecture)


class MergeRecord(models.Model):
    """What both sides of a merge had, so the merge can be undone."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("contact")
        COMPANY = "company", _("company")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    winner_id = models.BigIntegerField()
    loser_id = models.BigIntegerField()
    winner_before = models.JSONField()
    loser_before = models.JSONField()
    moved = models.JSONField(default=dict, help_text="Ids of rows re-pointed from loser to winner.")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at"]
        indexes = [
            models.Index(fields=["kind", "winner_id"]),
            models.Index(fields=["kind", "loser_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.loser_id} → {self.winner_id}"


class SourceChange(models.Model):
    """A contact whose source changed after it was created (first touch replaced, a merge undone,
    a won deal edited): the numbers attributed to it must be counted again. Written in the
    transaction of the change (``sources.sources_changed``); analytics takes the rows when it
    refreshes its rollups. ``contact_id`` null: too many contacts to name, count everything."""

    contact_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sources of {self.contact_id or 'every contact'} changed"


class PendingChange(models.Model):
    """Values an anonymous submission proposed for a known contact. They are not applied until
    someone with the right to edit the contact accepts them."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="pending_changes")
    values = models.JSONField(help_text="Field name → proposed value (ContactInput names).")
    source = models.CharField(_("source"), max_length=200)
    submitted_at = models.DateTimeField(_("submitted"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("pending change")
        verbose_name_plural = _("pending changes")
        indexes = [models.Index(fields=["contact", "status"], name="pendingchange_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.status}"


class UpdatePolicy(models.TextChoices):
    """What an import does to a value a known contact already has, chosen per field."""

    FILL = "fill", _("Fill empty fields only")
    OVERWRITE = "overwrite", _("Overwrite with the file's value")
    KEEP = "keep", _("Keep what is stored")


class ImportJob(models.Model):
    """One contacts file (CSV or XLSX) being imported: mapping, options, progress and counts."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    filename = models.CharField(_("file name"), max_length=255)
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=10)  # csv | xlsx
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # Field → "fill" | "overwrite" | "keep": what a row does to a value the contact already has.
    policies = models.JSONField(_("update policy"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=20, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    channel = models.ForeignKey(
        "campaigns.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return self.filename


class ImportRowError(models.Model):
    """A row of an import that could not be taken, with what was wrong (the error report)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    errors = models.JSONField(default=dict, help_text="Field → message.")

    class Meta:
        ordering = ["job", "row_number"]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"
