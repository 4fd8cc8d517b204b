"""Both catalogs translate every message id, with the same placeholders, and code uses no
id that is missing from them."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.conversation.i18n import LANGUAGES, catalog_path, gettext, use_language

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("bot", "handlers", "scheduler")


def _catalog(language: str) -> dict[str, str]:
    with catalog_path(language).open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=language) if m.id}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _ids_used_in_code() -> set[str]:
    used: set[str] = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in {"_", "gettext"} and node.args
                        and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    used.add(node.args[0].value)
    return used


def test_both_catalogs_have_the_same_ids_all_translated() -> None:
    vi, en = _catalog("vi"), _catalog("en")
    assert set(vi) == set(en), f"only in vi: {set(vi) - set(en)}; only in en: {set(en) - set(vi)}"
    assert not [key for key, value in {**vi, **en}.items() if not value.strip()]


@pytest.mark.parametrize("message_id", sorted(_catalog("vi")))
def test_placeholders_match(message_id: str) -> None:
    assert _placeholders(_catalog("vi")[message_id]) == _placeholders(_catalog("en")[message_id])


def test_every_id_used_in_code_is_translated() -> None:
    used = _ids_used_in_code()
    assert used, "the scan found no gettext calls: it is broken"
    for language in LANGUAGES:
        missing = used - set(_catalog(language))
        assert not missing, f"{language} lacks {sorted(missing)}"


def test_vietnamese_is_the_default_and_english_is_available() -> None:
    assert gettext("cancel.done").startswith("Đã hủy")
    with use_language("en"):
        assert gettext("cancel.done").startswith("Cancelled")
