"""``pcmt-bot admin outbox`` as an administrator runs it: the dead letters listed without
address or content, one queued again, sent messages purged after the retention period."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.conversation.messages import Reply
from bot.store import Store, outbox
from bot.store.schema import outbox as outbox_table


def _admin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PCMT_")}
    env.update(PCMT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/pcmt.db",
               PCMT_DATA_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "bot", "admin", "outbox", *args], env=env,
                          cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, check=False)


async def _queue(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/pcmt.db")
    now = datetime.now(UTC)
    async with store.transaction() as conn:
        for key, chat in (("dead-one", "secret-chat-1"), ("sent-long-ago", "secret-chat-2")):
            await outbox.enqueue(conn, channel="telegram", chat_id=chat,
                                 payload=Reply("private words").to_json(), dedupe_key=key,
                                 due_at=now, now=now, priority=outbox.URGENT)
        await conn.execute(update(outbox_table).where(outbox_table.c.dedupe_key == "dead-one")
                           .values(status=outbox.DEAD, attempts=8,
                                   last_error="RetryLater: telegram TimedOut"))
        await conn.execute(update(outbox_table).where(
            outbox_table.c.dedupe_key == "sent-long-ago").values(
            status=outbox.SENT, sent_at=now - timedelta(days=30)))
    await store.close()


def test_list_retry_and_purge(tmp_path: Path) -> None:
    assert _admin(tmp_path, "list").returncode == 0  # a fresh database: made and empty
    asyncio.run(_queue(tmp_path))
    listed = _admin(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "dead 1" in listed.stdout and "sent 1" in listed.stdout
    [row] = [line for line in listed.stdout.splitlines() if "\tdead\t" in line]
    assert "priority 0" in row and "8 attempts" in row and "TimedOut" in row
    assert "secret-chat" not in listed.stdout and "private words" not in listed.stdout
    row_id = row.split("\t")[0]
    again = _admin(tmp_path, "retry", row_id)
    assert again.returncode == 0 and f"message {row_id} queued again" in again.stdout
    assert _admin(tmp_path, "retry", row_id).returncode == 1  # pending now: nothing to retry
    purged = _admin(tmp_path, "purge")
    assert purged.returncode == 0 and "deleted 1 messages" in purged.stdout
    assert "pending 1" in _admin(tmp_path, "list").stdout
