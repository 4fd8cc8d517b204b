"""Messages nobody is waiting on, and flows the bot opens itself: the one way into the outbox.

Handlers, the police side, scheduler jobs and a channel that could not answer at once all queue
through :func:`push`, which seals what is queued (a reply may quote the reporter's words) and,
for a citizen's chat, the address too. :func:`open_flow` starts a flow for a person and queues
its first prompt in the same transaction, so a check-in or a reminder that asks something is
either wholly planned or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.flows import Flow
from bot.conversation.i18n import use_language
from bot.conversation.messages import Incoming, Reply
from bot.conversation.routing import Context
from bot.security.identity import Pseudonyms, seal_at_rest
from bot.security.privacy import Keyring
from bot.services import Services
from bot.store import conversations, outbox, users
from bot.store.users import User


async def push(conn: AsyncConnection, keyring: Keyring, *, channel: str, chat_id: str,
               reply: Reply, dedupe_key: str, due_at: datetime, now: datetime,
               priority: int = outbox.ROUTINE, private: bool = False) -> bool:
    """Queue ``reply`` for ``chat_id``; False when ``dedupe_key`` was queued before, or when
    the citizen there blocked the bot: nothing more is planned for them until they write again.

    ``priority`` is one of :data:`bot.store.outbox.URGENT`, ``ROUTED`` and ``ROUTINE`` (planned
    rounds, the default): what sort of message this is decides what goes out first when the
    platform's budget is short.

    ``private`` marks a citizen's chat and seals the address as well: it must not be readable
    next to what was sent to it. Police chats stay readable, so delivery can pace each chat;
    one that blocks the bot stops being an inbox instead (:func:`bot.store.officers.lose`).
    """
    if private and await users.chat_unreachable(
            conn, channel, Pseudonyms(keyring).chat(channel, chat_id)):
        return False
    address = seal_at_rest(keyring, chat_id) if private else chat_id
    return await outbox.enqueue(conn, channel=channel, chat_id=address,
                                payload=seal_at_rest(keyring, reply.to_json()),
                                dedupe_key=dedupe_key, due_at=due_at, now=now,
                                priority=priority)


@dataclass(frozen=True, slots=True)
class Queued:
    """One message of a batch for :func:`push_many` (to a police chat: never sealed)."""

    channel: str
    chat_id: str
    reply: Reply
    dedupe_key: str


async def push_many(conn: AsyncConnection, keyring: Keyring, items: Iterable[Queued], *,
                    now: datetime, priority: int = outbox.ROUTINE) -> None:
    """Queue many messages due now in one statement, as :func:`push` would one by one (a
    round of reminders to every commune, routine unless told). Keys queued before are
    skipped."""
    # A round sends the same words to thousands of police chats: each text is sealed once.
    # By identity: the list holds the replies alive (an id is not reused while its object
    # lives), and hashing a reply costs more than the rest of queuing it.
    kept = list(items)
    sealed: dict[int, str] = {}
    rows = []
    for item in kept:
        payload = sealed.get(id(item.reply))
        if payload is None:
            payload = sealed[id(item.reply)] = seal_at_rest(keyring, item.reply.to_json())
        rows.append((item.channel, item.chat_id, payload, item.dedupe_key))
    await outbox.enqueue_many(conn, rows, due_at=now, now=now, priority=priority)


async def open_flow(conn: AsyncConnection, services: Services, flow: Flow, *, user: User,
                    channel: str, chat_id: str, language: str, dedupe_key: str,
                    now: datetime, ttl: timedelta, private: bool = True, **data: object) -> bool:
    """Put ``user`` in ``flow`` and queue its first prompt; False (and nothing changed) when
    ``dedupe_key`` was used before."""
    ctx = Context(Incoming(channel, chat_id, ""), user, conn, now, services, None, language)
    with use_language(language):
        flow.begin(ctx, **data)
    for number, reply in enumerate(ctx.replies):
        if not await push(conn, services.keyring, channel=channel, chat_id=chat_id, reply=reply,
                          dedupe_key=f"{dedupe_key}:{number}", due_at=now, now=now,
                          private=private, priority=outbox.ROUTINE):
            return False
    await conversations.save(conn, user.id, ctx.state, now, ttl, services.seal)
    return True
