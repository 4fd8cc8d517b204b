"""Long-lived things handlers need (settings and indexes), built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
