"""Presets installed once: what ``migrate`` gives an installation, each under a stable key.

``preset_install_once`` runs an installer (the default consent topics, the seed's scoring and
MQL rules, the channel rules …) the first time it meets the installer's key, then records the
key in ``InstalledPreset``; from then on the key is skipped, whatever the operator did with the
preset since — renamed, paused, edited or deleted it. A new version of a preset ships under a new
key, and its installer decides on its own whether the old one may be replaced (the scoring
preset is upgraded only where nobody edited it).

Installers stay idempotent on their own (they look for what they would create), so a run that
stops between installing and recording only installs nothing the next time. An installation
from before the keys existed already has its presets: ``already`` tells so, and the key is
recorded without installing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sokyaku.core import clock
from sokyaku.core.models import InstalledPreset

logger = logging.getLogger(__name__)


def presets_installed(*, keys: Iterable[str] | None = None) -> set[str]:
    """The recorded keys (among ``keys``, or all)."""
    rows = InstalledPreset.objects.all()
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    return set(rows.values_list("key", flat=True))


def preset_install_once(
    *,
    key: str,
    install: Callable[[], object],
    already: Callable[[], bool] | None = None,
    recorded: set[str] | None = None,
) -> bool:
    """Run ``install`` unless ``key`` was recorded before; record it. Returns whether it ran.

    ``already`` (optional) says the installation has the preset from before its key existed:
    the key is then recorded without running ``install``. ``recorded`` is the caller's read of
    ``presets_installed`` (one query for many keys). Side effects: those of ``install``, one
    ``InstalledPreset`` row.
    """
    if key in (recorded if recorded is not None else presets_installed(keys=[key])):
        return False
    ran = not (already is not None and already())
    if ran:
        install()
    InstalledPreset.objects.get_or_create(key=key, defaults={"installed_at": clock.now()})
    logger.info("preset.recorded", extra={"key": key, "installed": ran})
    return ran


__all__ = ["preset_install_once", "presets_installed"]
