"""Local files hold what the database and the key hold: only their owner may read them, from
the moment they exist."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.security.keys import KEY_FILE, load_keyring
from bot.settings import Settings
from bot.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, as many systems have."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_the_data_folder_database_and_wal_files_are_the_owners_only(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await Store.open(f"sqlite+aiosqlite:///{data}/pcmt.db")
    try:
        assert mode(data) == 0o700
        files = sorted(data.iterdir())
        assert data / "pcmt.db" in files
        for path in files:  # pcmt.db, pcmt.db-wal, pcmt.db-shm
            assert mode(path) == 0o600, path.name
    finally:
        await store.close()


def test_a_generated_key_and_its_folder_are_the_owners_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    load_keyring(Settings(_env_file=None, data_dir=data))
    assert mode(data) == 0o700
    assert mode(data / KEY_FILE) == 0o600
