"""Where the master key comes from: ``PCMT_SECRET_KEY``, or a key file generated on first run.

Losing the key makes sealed report content, reply handles and pseudonyms unreadable, so the
generated file is created once, readable by its owner only, and never overwritten.
"""

from __future__ import annotations

import base64
import os
import secrets

from bot.errors import ConfigError
from bot.security.privacy import Keyring
from bot.settings import Settings

KEY_FILE = "secret.key"


def load_keyring(settings: Settings) -> Keyring:
    if settings.secret_key is not None:
        source, text = "PCMT_SECRET_KEY", settings.secret_key.get_secret_value()
    else:
        source, text = f"PCMT_DATA_DIR ({KEY_FILE})", _read_or_create(settings)
    try:
        return Keyring.from_text(text)
    except ValueError as exc:
        raise ConfigError(source, str(exc)) from None


def _read_or_create(settings: Settings) -> str:
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
