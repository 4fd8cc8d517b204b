"""The master key and the database it belongs to: a fingerprint recorded on first start, and
any other key, or a key generated afresh beside data, refused."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.errors import ConfigError
from bot.security.keys import KEY_FILE, check_key, load_keyring
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import key_fingerprint, users
from tests.conftest import FakeClock, StoreFactory


def settings_in(folder: Path, key: str | None = None) -> Settings:
    return Settings(_env_file=None, data_dir=folder, secret_key=key,
                    database_url=f"sqlite+aiosqlite:///{folder}/pcmt.db")


async def add_user(store: Store, clock: FakeClock) -> None:
    async with store.transaction() as conn:
        await conn.execute(insert(users).values(role="citizen", created_at=clock()))


async def test_the_first_key_is_recorded_as_a_fingerprint_and_accepted_again(
        store: Store, tmp_path: Path, clock: FakeClock) -> None:
    key = load_keyring(settings_in(tmp_path))
    assert key.generated == tmp_path / KEY_FILE
    await check_key(store, key, clock())
    async with store.transaction() as conn:
        [recorded] = (await conn.execute(select(key_fingerprint.c.fingerprint))).scalars()
    assert recorded == key.keyring.fingerprint
    key_text = (tmp_path / KEY_FILE).read_text().strip()
    assert key_text not in recorded and len(recorded) == 43
    await add_user(store, clock)
    again = load_keyring(settings_in(tmp_path))
    assert again.generated is None
    await check_key(store, again, clock())


async def test_another_key_is_refused(store: Store, tmp_path: Path, clock: FakeClock) -> None:
    await check_key(store, load_keyring(settings_in(tmp_path, secrets.token_hex(32))), clock())
    other = load_keyring(settings_in(tmp_path, secrets.token_hex(32)))
    with pytest.raises(ConfigError, match="not the key the database was created with"):
        await check_key(store, other, clock())


async def test_a_key_generated_beside_data_is_refused_and_not_kept(
        store: Store, tmp_path: Path, clock: FakeClock) -> None:
    await check_key(store, load_keyring(settings_in(tmp_path)), clock())
    await add_user(store, clock)
    (tmp_path / KEY_FILE).unlink()  # the key lost, or a replica started without one
    fresh = load_keyring(settings_in(tmp_path))
    assert fresh.generated is not None
    with pytest.raises(ConfigError, match="not the key"):
        await check_key(store, fresh, clock())
    assert not (tmp_path / KEY_FILE).exists()


async def test_data_from_before_fingerprints_refuses_a_fresh_key(
        store_factory: StoreFactory, tmp_path: Path, clock: FakeClock) -> None:
    store = await store_factory.open()
    await add_user(store, clock)  # a database of an older version: data, no fingerprint
    with pytest.raises(ConfigError, match="already holds data"):
        await check_key(store, load_keyring(settings_in(tmp_path)), clock())
    assert not (tmp_path / KEY_FILE).exists()
    await check_key(store, load_keyring(settings_in(tmp_path, secrets.token_hex(32))), clock())


def test_a_start_with_the_key_file_gone_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PCMT_DATA_DIR": str(tmp_path),
           "PCMT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db"}
    env.pop("PCMT_SECRET_KEY", None)
    command = [sys.executable, "-m", "bot", "admin", "unrouted"]
    subprocess.run(command, env=env, capture_output=True, timeout=120, check=True)
    subprocess.run([sys.executable, "-m", "bot", "admin", "invite", "--role", "supervisor",
                    "--province", "79"], env=env, capture_output=True, timeout=120, check=True)
    (tmp_path / KEY_FILE).unlink()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "PCMT_SECRET_KEY" in line and KEY_FILE in line
