"""Where the bot finds its data files (catalogs, knowledge base)."""

from __future__ import annotations

import os
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent

LOCALES_DIR = Path(os.environ.get("PCMT_LOCALES_DIR") or _REPOSITORY / "locales")
