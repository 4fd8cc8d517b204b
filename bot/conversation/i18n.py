"""Interface text in Vietnamese (default) and English, from gettext catalogs under ``locales/``.

Message ids are symbolic (``start.greeting``) so that both catalogs must translate every id;
placeholders use ``str.format`` names. The current locale lives in a ContextVar, set by the
dispatcher for each incoming message from the user's stored choice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from bot.paths import LOCALES_DIR

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def catalog_path(language: str, root: Path = LOCALES_DIR) -> Path:
    return root / language / "LC_MESSAGES" / "messages.po"


@cache
def catalog(language: str) -> dict[str, str]:
    with catalog_path(language).open("rb") as handle:
        messages = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in messages if m.id and m.string}


def gettext(message_id: str, /, **params: object) -> str:
    """Translate ``message_id`` into the current language and fill in ``params``."""
    language = current_language.get()
    template = catalog(language).get(message_id) or catalog(DEFAULT_LANGUAGE).get(message_id)
    if template is None:
        return message_id
    return template.format(**params) if params else template


_ = gettext


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = current_language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        current_language.reset(token)
