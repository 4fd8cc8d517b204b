"""``pcmt-bot admin outbox``: the messages that will not go out on their own (dead letters,
refused, sent without a readable answer), sending one again, purging what was sent.

Rows are shown by id, channel, status, priority, attempts, due time and last error: never
their address or content, which may be sealed and are not the operator's to read.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services import Services
from bot.settings import Settings
from bot.store import Store, audit, outbox

OpenStore = Callable[[Settings, Services], Awaitable[Store]]
LIST_LIMIT = 200


def add_parser(admin_commands: Any) -> None:
    """``admin outbox list|retry ID|purge`` on the ``admin`` sub-command parsers."""
    parser = admin_commands.add_parser(
        "outbox", help="dead letters and other messages that will not go out on their own")
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="dead, failed and unconfirmed messages, and the counts")
    again = actions.add_parser("retry", help="send a dead, failed or unconfirmed message again")
    again.add_argument("id", type=int, metavar="ID")
    actions.add_parser("purge", help="delete messages sent more than "
                                     "PCMT_DELIVERY_RETENTION_DAYS ago")


async def run(settings: Settings, services: Services, args: argparse.Namespace,
              open_store: OpenStore) -> int:
    store = await open_store(settings, services)
    try:
        async with store.transaction() as conn:
            now = datetime.now(UTC)
            if args.outbox_command == "list":
                counts = await outbox.counts(conn)
                print("  ".join(f"{status} {count}" for status, count in sorted(counts.items()))
                      or "the outbox is empty")
                for row in await outbox.stuck(conn, LIST_LIMIT):
                    print(f"{row.id}\t{row.channel}\t{row.status}\tpriority {row.priority}"
                          f"\t{row.attempts} attempts\tdue {row.due_at.isoformat()}"
                          f"\t{row.last_error or '-'}")
                return 0
            if args.outbox_command == "retry":
                if not await outbox.send_again(conn, args.id, now):
                    print(f"pcmt-bot: no dead, failed or unconfirmed message {args.id}")
                    return 1
                await audit.record(conn, at=now, actor="admin", action="outbox.retry",
                                   subject=str(args.id))
                print(f"message {args.id} queued again")
                return 0
            kept = timedelta(days=settings.delivery_retention_days)
            purged = await outbox.purge(conn, now - kept)
            await audit.record(conn, at=now, actor="admin", action="outbox.purge",
                               detail=str(purged))
            print(f"deleted {purged} messages sent before {(now - kept).isoformat()}")
            return 0
    finally:
        await store.close()
