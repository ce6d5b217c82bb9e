"""Landing pages: settings, ordered content blocks, publishing.

Blocks are a heading, Markdown text (rendered and sanitised when shown, see ``richtext``), an
image by URL, a call-to-action button, or one of our forms. Image and button addresses must be
http(s) (a button may also point at a path on this site or an anchor): a page can never carry a
``javascript:`` link. A page is published only when it has a title, at least one block and
every form on it is published; a published page stays that way through later edits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from sokyaku.capture import addresses
from sokyaku.capture.models import BlockKind, Form, LandingPage, PageBlock
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

MAX_BLOCKS = 100

MSG_INVALID = gettext_noop("Please correct the errors below.")
MSG_REQUIRED = gettext_noop("This field is required.")
MSG_TOO_LONG = gettext_noop("This value is too long.")
MSG_SLUG = gettext_noop("Use lower-case letters, digits and hyphens.")
MSG_SLUG_TAKEN = gettext_noop("Another landing page already uses this address.")
MSG_LANGUAGE = gettext_noop("Unknown language.")
MSG_KIND = gettext_noop("Unknown block kind.")
MSG_IMAGE_URL = gettext_noop("Enter the image's http(s) address.")
MSG_BUTTON_URL = gettext_noop(
    "Enter an http(s) address, a path on this site (/…) or an anchor (#…)."
)
MSG_FORM = gettext_noop("Choose a form.")
MSG_NO_BLOCKS = gettext_noop("Add at least one block.")
MSG_FORM_UNPUBLISHED = gettext_noop("Publish the forms on this page first.")
MSG_PUBLISH = gettext_noop("This page cannot be published yet.")
MSG_STILL_PUBLISHED = gettext_noop(
    "This change would leave the published page incomplete; unpublish it first."
)


@dataclass
class BlockSpec:
    kind: str
    text: str = ""
    url: str = ""
    form_id: int | None = None


@dataclass
class PageInput:
    """What a caller wants a page to be; ``None`` means "leave as it is"."""

    title: str | None = None
    slug: str | None = None
    description: str | None = None
    language: str | None = None
    blocks: list[BlockSpec] | None = None


_TEXT_LIMITS: dict[str, int] = {
    BlockKind.HEADING: 200,
    BlockKind.TEXT: 20_000,
    BlockKind.IMAGE: 300,
}


def _http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and "\\" not in url


def _button_target_ok(url: str) -> bool:
    if any(ord(c) < 33 for c in url) or "\\" in url:
        return False
    if url.startswith("#") or (url.startswith("/") and not url.startswith("//")):
        return True
    return _http(url)


def _blocks_clean(specs: list[tuple[int | None, BlockSpec]]) -> list[PageBlock]:
    errors: dict[str, str] = {}
    if len(specs) > MAX_BLOCKS:
        raise ValidationError(MSG_INVALID, field_errors={"blocks": MSG_TOO_LONG})
    wanted = {s.form_id for _pk, s in specs if s.form_id}
    forms = {f.pk: f for f in Form.objects.filter(pk__in=wanted)}
    result: list[PageBlock] = []
    for index, (pk, spec) in enumerate(specs):
        at = f"blocks.{index}"
        text, url = (spec.text or "").strip(), (spec.url or "").strip()
        if spec.kind not in BlockKind.values:
            errors[f"{at}.kind"] = MSG_KIND
            continue
        limit = _TEXT_LIMITS.get(spec.kind, 100)
        if len(text) > limit:
            errors[f"{at}.text"] = MSG_TOO_LONG
        if len(url) > 1000:
            errors[f"{at}.url"] = MSG_TOO_LONG
        form = None
        if spec.kind in (BlockKind.HEADING, BlockKind.TEXT, BlockKind.BUTTON) and not text:
            errors[f"{at}.text"] = MSG_REQUIRED
        if spec.kind == BlockKind.IMAGE and not _http(url):
            errors[f"{at}.url"] = MSG_IMAGE_URL
        if spec.kind == BlockKind.BUTTON and not _button_target_ok(url):
            errors[f"{at}.url"] = MSG_BUTTON_URL
        if spec.kind == BlockKind.FORM:
            form = forms.get(spec.form_id or 0)
            if form is None:
                errors[f"{at}.form"] = MSG_FORM
        result.append(
            PageBlock(
                pk=pk,
                kind=spec.kind,
                text=text if spec.kind != BlockKind.FORM else "",
                url=url if spec.kind in (BlockKind.IMAGE, BlockKind.BUTTON) else "",
                form=form,
                order=(index + 1) * 10,
            )
        )
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)
    return result


def _blocks_write(page: LandingPage, cleaned: list[PageBlock]) -> None:
    PageBlock.objects.filter(page=page).exclude(pk__in=[b.pk for b in cleaned if b.pk]).delete()
    for block in cleaned:
        block.page = page
        block.save()


def _specs(page: LandingPage) -> list[tuple[int | None, BlockSpec]]:
    return [
        (b.pk, BlockSpec(kind=b.kind, text=b.text, url=b.url, form_id=b.form_id))
        for b in page.blocks.order_by("order", "id")
    ]


def page_problems(*, page: LandingPage) -> dict[str, str]:
    """What keeps ``page`` from being published (empty: nothing)."""
    problems: dict[str, str] = {}
    if not page.title.strip():
        problems["title"] = MSG_REQUIRED
    blocks = list(page.blocks.select_related("form"))
    if not blocks:
        problems["blocks"] = MSG_NO_BLOCKS
    elif any(b.form is not None and not b.form.is_published for b in blocks):
        problems["blocks"] = MSG_FORM_UNPUBLISHED
    return problems


def _still_publishable(page: LandingPage) -> None:
    if page.is_published:
        problems = page_problems(page=page)
        if problems:
            raise ValidationError(MSG_STILL_PUBLISHED, field_errors=problems)


def _apply(page: LandingPage, data: PageInput, errors: dict[str, str]) -> None:
    if data.title is not None:
        page.title = data.title.strip()
        if not page.title:
            errors["title"] = MSG_REQUIRED
        elif len(page.title) > 200:
            errors["title"] = MSG_TOO_LONG
    if data.description is not None:
        page.description = data.description.strip()
        if len(page.description) > 300:
            errors["description"] = MSG_TOO_LONG
    if data.language is not None:
        if data.language not in dict(settings.LANGUAGES):
            errors["language"] = MSG_LANGUAGE
        page.language = data.language
    if data.slug is not None:
        slug = data.slug.strip().lower()
        if addresses.address_valid(slug):
            slug = addresses.address_free(model=LandingPage, slug=slug, exclude_pk=page.pk)
        else:
            errors["slug"] = MSG_SLUG
        page.slug = slug


def _save(page: LandingPage, data: PageInput) -> LandingPage:
    errors: dict[str, str] = {}
    _apply(page, data, errors)
    cleaned = None
    if data.blocks is not None:
        try:
            cleaned = _blocks_clean([(None, b) for b in data.blocks])
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)
    now = clock.now()
    try:
        with transaction.atomic():
            page.updated_at = now
            if not page.pk:
                page.created_at = now
            page.save()
            if cleaned is not None:
                _blocks_write(page, cleaned)
            _still_publishable(page)
    except IntegrityError as exc:
        raise ValidationError(MSG_INVALID, field_errors={"slug": MSG_SLUG_TAKEN}) from exc
    return page


def page_create(*, data: PageInput, actor: User | None = None) -> LandingPage:
    """A new draft landing page (``title`` required; the address defaults to one made from
    it). Raises ``ValidationError``."""
    if not (data.title or "").strip():
        raise ValidationError(MSG_INVALID, field_errors={"title": MSG_REQUIRED})
    if data.slug is None:
        data.slug = addresses.address_from(data.title or "", fallback="page")
    page = _save(LandingPage(created_by=actor, language=settings.LANGUAGE_CODE), data)
    logger.info("page.created", extra={"page": page.pk})
    return page


def page_update(*, page: LandingPage, data: PageInput, actor: User | None = None) -> LandingPage:
    """Change a page's settings (and replace its blocks when given). Raises
    ``ValidationError``; a published page must stay publishable."""
    try:
        return _save(page, data)
    except ValidationError:
        page.refresh_from_db()
        raise


def _blocks_change(page: LandingPage, specs: list[tuple[int | None, BlockSpec]]) -> LandingPage:
    cleaned = _blocks_clean(specs)
    with transaction.atomic():
        _blocks_write(page, cleaned)
        page.updated_at = clock.now()
        page.save(update_fields=["updated_at"])
        _still_publishable(page)
    return page


def page_block_add(*, page: LandingPage, spec: BlockSpec, actor: User | None = None) -> LandingPage:
    """Add a block at the end of the page. Raises ``ValidationError`` (``blocks.<n>.*``)."""
    return _blocks_change(page, [*_specs(page), (None, spec)])


def page_block_change(
    *, page: LandingPage, block_id: int, spec: BlockSpec, actor: User | None = None
) -> LandingPage:
    """Change one block in place. Raises ``ValidationError``."""
    specs = [(pk, spec if pk == block_id else s) for pk, s in _specs(page)]
    return _blocks_change(page, specs)


def page_block_remove(
    *, page: LandingPage, block_id: int, actor: User | None = None
) -> LandingPage:
    return _blocks_change(page, [(pk, s) for pk, s in _specs(page) if pk != block_id])


def page_block_move(
    *, page: LandingPage, block_id: int, offset: int, actor: User | None = None
) -> LandingPage:
    """Move a block up (``offset=-1``) or down (``+1``)."""
    specs = _specs(page)
    index = next((i for i, (pk, _s) in enumerate(specs) if pk == block_id), None)
    if index is None:
        return page
    target = max(0, min(len(specs) - 1, index + offset))
    specs.insert(target, specs.pop(index))
    return _blocks_change(page, specs)


def page_publish(*, page: LandingPage, actor: User | None = None) -> LandingPage:
    """Publish a page at ``/p/<slug>``. Raises ``ValidationError`` naming what is missing."""
    problems = page_problems(page=page)
    if problems:
        raise ValidationError(MSG_PUBLISH, field_errors=problems)
    now = clock.now()
    page.is_published, page.published_at, page.updated_at = True, now, now
    page.save(update_fields=["is_published", "published_at", "updated_at"])
    logger.info("page.published", extra={"page": page.pk})
    return page


def page_unpublish(*, page: LandingPage, actor: User | None = None) -> LandingPage:
    """Take a page off line (``/p/<slug>`` answers 404)."""
    page.is_published = False
    page.updated_at = clock.now()
    page.save(update_fields=["is_published", "updated_at"])
    logger.info("page.unpublished", extra={"page": page.pk})
    return page
