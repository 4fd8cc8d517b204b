"""Where the master key comes from: ``PCMT_SECRET_KEY``, or a key file generated on first run,
and the check that it is the key the database belongs to.

Losing the key makes sealed report content, reply handles and pseudonyms unreadable, so the
generated file is created once, readable by its owner only, and never overwritten. The
database records the key's fingerprint: a start with another key, or with a key generated
afresh beside a database that already holds data, is refused instead of sealing new data
under a key the old data does not open.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError

from bot.errors import ConfigError
from bot.security.privacy import Keyring
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import key_fingerprint, reports, users

KEY_FILE = "secret.key"
KEY_SETTING = "PCMT_SECRET_KEY"


@dataclass(frozen=True, slots=True)
class LoadedKey:
    keyring: Keyring
    generated: Path | None
    """The key file this process has just created, if it did."""


def load_keyring(settings: Settings) -> LoadedKey:
    generated = None
    if settings.secret_key is not None:
        source, text = KEY_SETTING, settings.secret_key.get_secret_value()
    else:
        source = f"PCMT_DATA_DIR ({KEY_FILE})"
        try:
            text, generated = _read_or_create(settings)
        except OSError as exc:
            raise ConfigError("PCMT_DATA_DIR", f"cannot read or create {KEY_FILE} there: "
                              f"{exc.strerror or type(exc).__name__}") from None
    try:
        return LoadedKey(Keyring.from_text(text), generated)
    except ValueError as exc:
        raise ConfigError(source, str(exc)) from None


def _read_or_create(settings: Settings) -> tuple[str, Path | None]:
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip(), None
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="ascii").strip(), None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key, path


async def check_key(store: Store, key: LoadedKey, now: datetime) -> None:
    """Refuse (ConfigError) a key that is not the one the database belongs to; record the
    fingerprint of the first key a database sees. A key generated this start is accepted only
    by a database holding no data, and its file is removed when refused, so that restoring
    the old key is all it takes."""
    try:
        await _check(store, key.keyring, generated=key.generated is not None, now=now)
    except ConfigError:
        if key.generated is not None:
            key.generated.unlink(missing_ok=True)
        raise


async def _check(store: Store, keyring: Keyring, *, generated: bool, now: datetime) -> None:
    for _attempt in range(2):  # two replicas recording at once: the loser compares
        try:
            async with store.transaction() as conn:
                recorded = (await conn.execute(select(key_fingerprint.c.fingerprint))).scalar()
                if recorded is not None:
                    if recorded != keyring.fingerprint:
                        raise ConfigError(KEY_SETTING, (
                            "this is not the key the database was created with (its "
                            "fingerprint differs); set PCMT_SECRET_KEY or restore "
                            f"{KEY_FILE} to that key"))
                    return
                if generated and (await conn.execute(select(
                        exists(select(users.c.id)) | exists(select(reports.c.id))))).scalar():
                    raise ConfigError(KEY_SETTING, (
                        f"not set and no {KEY_FILE} found, but the database already holds "
                        f"data sealed with a key; set PCMT_SECRET_KEY or restore {KEY_FILE}"))
                await conn.execute(insert(key_fingerprint).values(
                    id=1, fingerprint=keyring.fingerprint, recorded_at=now))
                return
        except IntegrityError:
            continue
    raise AssertionError("unreachable: the second attempt finds the recorded fingerprint")
