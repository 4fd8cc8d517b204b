"""Long-lived things handlers need (settings, keys, indexes), built once per process.

Indexes are built on first use so that commands which never need them start fast.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from bot.security.identity import Pseudonyms, open_at_rest, seal_at_rest
from bot.security.keys import LoadedKey, load_keyring
from bot.security.privacy import Keyring
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.geo import Commune, CommuneIndex, Province
    from bot.knowledge import KnowledgeBase


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def key(self) -> LoadedKey:
        return load_keyring(self.settings)

    @property
    def keyring(self) -> Keyring:
        return self.key.keyring

    def seal(self, text: str) -> str:
        """``text`` sealed for a text column (conversation state, menus)."""
        return seal_at_rest(self.keyring, text)

    def open(self, stored: str) -> str:
        return open_at_rest(self.keyring, stored)

    @cached_property
    def pseudonyms(self) -> Pseudonyms:
        return Pseudonyms(self.keyring)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        from bot.knowledge import KnowledgeBase

        return KnowledgeBase.load()

    @cached_property
    def commune_list(self) -> tuple[list[Province], list[Commune]]:
        from bot.geo import load_communes

        return load_communes()

    @cached_property
    def communes(self) -> CommuneIndex:
        from bot.geo import CommuneIndex

        return CommuneIndex(*self.commune_list)
