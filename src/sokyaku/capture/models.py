"""Lead capture: forms with their fields and consent checkboxes, the submissions they received,
and landing pages made of ordered content blocks.

A ``Form`` is built by a marketer and shown to the public at ``/f/<slug>`` (or embedded on
another site). Each accepted submission is one ``Submission`` row, written only by
``services.submission``: its ``token`` is unique, so a retried POST can never store a person
twice. Submissions feed the registrants list, the per-IP rate limit and reports.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FieldType(models.TextChoices):
    """What a form field asks for. The first group fills the contact's own fields."""

    NAME = "name", _("Name (family / given)")
    NAME_KANA = "name_kana", _("Name reading (kana)")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    COMPANY = "company", _("Company")
    DEPARTMENT = "department", _("Department")
    TITLE = "title", _("Title")
    POSTAL_CODE = "postal_code", _("Postal code")
    PREFECTURE = "prefecture", _("Prefecture")
    ADDRESS = "address", _("Address")
    TEXT = "text", _("Text (one line)")
    TEXTAREA = "textarea", _("Text (several lines)")
    SELECT = "select", _("Drop-down list")
    CHECKBOX = "checkbox", _("Checkbox(es)")
    HIDDEN = "hidden", _("Hidden value")


class Form(models.Model):
    """A lead-capture form: its fields, consent checkboxes, purpose-of-use text, where it may be
    embedded, and what happens after a submission."""

    name = models.CharField(_("name"), max_length=200, help_text=_("Shown only to your team."))
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    # A key of the form-kind registry (``capture.kinds``): not a DB choice, so other apps can
    # register kinds (asset download, webinar registration) without a migration here.
    kind = models.CharField(_("kind"), max_length=40, default="standard")
    kind_options = models.JSONField(_("kind options"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=5, default="ja")
    title = models.CharField(_("heading"), max_length=200, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    submit_label = models.CharField(_("submit button"), max_length=50, blank=True)
    # The consent.PurposeText key whose latest version is shown; the version a visitor saw is
    # carried in the signed render token and recorded with the submission.
    purpose_key = models.SlugField(_("purpose-of-use text"), max_length=50, blank=True)
    require_agreement = models.BooleanField(_("ask to agree to the purpose of use"), default=True)
    double_opt_in = models.BooleanField(_("double opt-in"), default=False)
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.CharField(_("redirect after submit"), max_length=500, blank=True)
    allowed_origins = models.JSONField(_("sites allowed to embed"), default=list, blank=True)
    rate_limit = models.PositiveIntegerField(_("submissions per IP address per hour"), default=10)
    min_fill_seconds = models.PositiveSmallIntegerField(_("minimum fill time (seconds)"), default=3)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("form")
        verbose_name_plural = _("forms")

    def __str__(self) -> str:
        return self.name


class FormField(models.Model):
    """One question of a form. Contact fields (name, email …) appear at most once per form."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(_("key"), max_length=50)
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    label = models.CharField(_("label"), max_length=200)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=500, blank=True)
    options = models.JSONField(_("options"), default=list, blank=True)
    default_value = models.CharField(_("default value"), max_length=500, blank=True)
    custom_field_key = models.SlugField(_("save to custom field"), max_length=50, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="formfield_unique_key")]

    def __str__(self) -> str:
        return self.label


class FormConsent(models.Model):
    """A consent checkbox of a form: ticking it records consent to ``topic``."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="consents")
    topic = models.ForeignKey(
        "consent.ConsentTopic", on_delete=models.PROTECT, related_name="+", verbose_name=_("topic")
    )
    label = models.CharField(_("label"), max_length=300)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("consent checkbox")
        verbose_name_plural = _("consent checkboxes")
        constraints = [
            models.UniqueConstraint(fields=["form", "topic"], name="formconsent_unique_topic")
        ]

    def __str__(self) -> str:
        return self.label


class Submission(models.Model):
    """One accepted submission of a form, as the person sent it."""

    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="submissions")
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="form_submissions",
    )
    # The random token of the rendered form: a retried POST carries the same one.
    token = models.CharField(max_length=64, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))
    data = models.JSONField(default=dict, help_text="Field key → value, as validated.")
    utm = models.JSONField(default=dict, blank=True)
    page_url = models.CharField(max_length=1000, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    purpose_text = models.ForeignKey(
        "consent.PurposeText", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the pipeline did: contact created, pending change, consent records, and what the
    # form kind's after-submit handler returned (message, links, redirect).
    outcome = models.JSONField(default=dict, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        indexes = [
            models.Index(fields=["form", "submitted_at"], name="submission_form_time_idx"),
            # The per-IP rate limit counts a form's recent submissions from one address.
            models.Index(fields=["form", "ip", "submitted_at"], name="submission_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} @ {self.submitted_at:%Y-%m-%d %H:%M}"


class LandingPage(models.Model):
    """A public page at ``/p/<slug>`` made of ordered content blocks."""

    title = models.CharField(_("page title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=5, default="ja")
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("landing page")
        verbose_name_plural = _("landing pages")

    def __str__(self) -> str:
        return self.title


class BlockKind(models.TextChoices):
    HEADING = "heading", _("Heading")
    TEXT = "text", _("Text (Markdown)")
    IMAGE = "image", _("Image")
    BUTTON = "button", _("Call-to-action button")
    FORM = "form", _("Form")


class PageBlock(models.Model):
    """One block of a landing page. ``text`` is the heading, the Markdown source, the image's
    alternative text or the button label; ``url`` the image or the button's target."""

    page = models.ForeignKey(LandingPage, on_delete=models.CASCADE, related_name="blocks")
    kind = models.CharField(_("kind"), max_length=10, choices=BlockKind.choices)
    text = models.TextField(_("text"), blank=True)
    url = models.CharField(_("URL"), max_length=1000, blank=True)
    form = models.ForeignKey(
        Form,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="page_blocks",
        verbose_name=_("form"),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("block")
        verbose_name_plural = _("blocks")

    def __str__(self) -> str:
        return f"{self.page_id}:{self.kind}"


# --- Gated assets and webinars ------------------------------------------------------------


class AssetKind(models.TextChoices):
    WHITEPAPER = "whitepaper", _("Whitepaper")
    CASE_STUDY = "case_study", _("Case study")
    TRIAL = "trial", _("Trial")
    OTHER = "other", _("Other")


class Asset(models.Model):
    """A document or trial placed behind a form: an uploaded file or an external address.
    Written only by ``services.assets``; handed out through signed, expiring links."""

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=AssetKind.choices, default=AssetKind.WHITEPAPER
    )
    description = models.TextField(_("description"), blank=True)
    file = models.FileField(_("file"), upload_to="assets/", max_length=300, blank=True)
    url = models.URLField(_("external address"), max_length=1000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")

    def __str__(self) -> str:
        return self.title


class WebinarLocation(models.TextChoices):
    ONLINE = "online", _("Online")
    VENUE = "venue", _("Venue")


class Webinar(models.Model):
    """A webinar or seminar people register for through a form. Times are stored in UTC and
    shown in Asia/Tokyo. ``capacity`` 0 means no limit."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(
        _("capacity"), default=0, help_text=_("0 means no limit.")
    )
    location_kind = models.CharField(
        _("location"),
        max_length=10,
        choices=WebinarLocation.choices,
        default=WebinarLocation.ONLINE,
    )
    join_url = models.URLField(_("join URL"), max_length=1000, blank=True)
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("webinar")
        verbose_name_plural = _("webinars")

    def __str__(self) -> str:
        return self.title


class WebinarRegistration(models.Model):
    """One person registered for one webinar (at most once), and whether they attended."""

    webinar = models.ForeignKey(Webinar, on_delete=models.CASCADE, related_name="registrations")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="webinar_registrations"
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "form" (registered through a form) or "import" (attended without registering).
    source = models.CharField(max_length=10, default="form")
    registered_at = models.DateTimeField(_("registered"))
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    minutes_attended = models.PositiveIntegerField(_("minutes attended"), null=True, blank=True)
    mail_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_at", "id"]
        verbose_name = _("webinar registration")
        verbose_name_plural = _("webinar registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["webinar", "contact"], name="webinarregistration_unique_contact"
            )
        ]

    def __str__(self) -> str:
        return f"{self.webinar_id}:{self.contact_id}"
