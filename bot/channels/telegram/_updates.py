"""What a Telegram update means for the bot, before anything is downloaded or dispatched.

:func:`read` sorts every update into one of four events: something to dispatch
(:class:`Received`), something a person sent that the bot cannot read (:class:`NotUnderstood`,
answered with one polite line), a change of the bot's membership in a chat
(:class:`Membership`), or nothing to act on (:class:`Ignored`). Group chats are police units:
only commands addressed to this bot and presses on its own buttons are heard there, and
nothing posted in a group is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from telegram import Chat, ChatMember, Document, Message, PhotoSize, Update

from bot.conversation.messages import ChatKind, Incoming, Location
from bot.text import clean_platform_text

CHANNEL = "telegram"

# Message contents a person sends on purpose that the bot has no use for.
_UNSUPPORTED = ("sticker", "voice", "video", "video_note", "audio", "animation", "poll", "dice",
                "contact", "game", "story", "paid_media", "invoice", "checklist")
_GONE = frozenset({ChatMember.BANNED, ChatMember.LEFT})
_BACK = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file in a message. ``file_id`` is None when it must not be downloaded (too large,
    or not a picture): the handler still learns that something was sent."""

    kind: str
    file_id: str | None
    mime_type: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class Received:
    incoming: Incoming
    files: tuple[FileRef, ...] = ()
    callback_id: str | None = None
    button_message: int | None = None
    """The message whose button was pressed: where an ``edit=True`` reply goes."""
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    chat_id: str
    user_id: str
    edited: bool
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    chat_id: str
    reachable: bool


@dataclass(frozen=True, slots=True)
class Ignored:
    callback_id: str | None = None
    """A button press that leads nowhere is still answered, so the client stops waiting."""


Event = Received | NotUnderstood | Membership | Ignored


def read(update: Update, bot_username: str, max_file_bytes: int) -> Event:
    if update.callback_query is not None:
        return _button(update, bot_username)
    if update.my_chat_member is not None:
        status = update.my_chat_member.new_chat_member.status
        chat_id = str(update.my_chat_member.chat.id)
        if status in _GONE:
            return Membership(chat_id, reachable=False)
        if status in _BACK:
            return Membership(chat_id, reachable=True)
        return Ignored()
    if update.message is not None:
        return _message(update.message, bot_username, max_file_bytes)
    edited = update.edited_message
    if edited is not None and edited.chat.type == Chat.PRIVATE and edited.from_user is not None:
        return NotUnderstood(str(edited.chat.id), str(edited.from_user.id), edited=True)
    return Ignored()


def _kind(chat: Chat) -> ChatKind | None:
    if chat.type == Chat.PRIVATE:
        return ChatKind.PRIVATE
    if chat.type in (Chat.GROUP, Chat.SUPERGROUP):
        return ChatKind.GROUP
    return None  # channels: the bot does not post there


def _button(update: Update, bot_username: str) -> Event:
    query = update.callback_query
    assert query is not None
    message = query.message
    kind = _kind(message.chat) if message is not None else None
    # Button data comes back from the client: anything may have been put there.
    data = clean_platform_text(query.data) if isinstance(query.data, str) else ""
    if message is None or kind is None or not data:
        return Ignored(callback_id=query.id)
    incoming = Incoming(CHANNEL, str(message.chat.id), str(query.from_user.id), chat_kind=kind,
                        choice=data, locale_hint=query.from_user.language_code)
    return Received(incoming, callback_id=query.id, button_message=message.message_id,
                    thread_id=_thread(message) if isinstance(message, Message) else None)


def _thread(message: Message) -> int | None:
    """The forum topic to answer in, so a reply lands where the question was asked."""
    return message.message_thread_id if message.is_topic_message else None


def _message(message: Message, bot_username: str, max_file_bytes: int) -> Event:
    kind = _kind(message.chat)
    user = message.from_user
    if kind is None or user is None:
        return Ignored()
    chat_id, user_id = str(message.chat.id), str(user.id)
    base = Incoming(CHANNEL, chat_id, user_id, chat_kind=kind, locale_hint=user.language_code)
    thread = _thread(message)
    if message.text is not None:
        text = clean_platform_text(message.text)
        if not _addressed_to_us(text, bot_username):
            return Ignored()
        incoming = Incoming.from_text(CHANNEL, chat_id, user_id, text, chat_kind=kind,
                                      locale_hint=user.language_code)
        if kind is ChatKind.GROUP and incoming.command is None:
            return Ignored()
        return Received(incoming, thread_id=thread)
    if kind is ChatKind.GROUP:
        return Ignored()
    location = message.location or (message.venue.location if message.venue else None)
    if location is not None:
        return Received(replace(base, location=Location(location.latitude, location.longitude)),
                        thread_id=thread)
    files: tuple[FileRef, ...] = ()
    if message.photo:
        files = (_photo(message.photo, max_file_bytes),)
    elif message.document is not None:
        files = (_document(message.document, max_file_bytes),)
    if files:
        caption = clean_platform_text(message.caption) if message.caption else None
        return Received(replace(base, text=caption), files=files, thread_id=thread)
    if any(getattr(message, name, None) for name in _UNSUPPORTED):
        return NotUnderstood(chat_id, user_id, edited=False, thread_id=thread)
    return Ignored()  # service messages: pinned, joined, ...


def _addressed_to_us(text: str, bot_username: str) -> bool:
    """False for ``/cmd@otherbot``: in a group that command is for another bot."""
    if not text.startswith("/"):
        return True
    head = text.split(maxsplit=1)[0] if text.strip() else text
    _, at, addressee = head.partition("@")
    return not at or addressee.lower() == bot_username.lower()


def _photo(sizes: tuple[PhotoSize, ...], max_file_bytes: int) -> FileRef:
    """The largest rendition under the size cap (Telegram lists them smallest first)."""
    fitting = [size for size in sizes if (size.file_size or 0) <= max_file_bytes]
    if not fitting:
        return FileRef("photo", None, "image/jpeg", sizes[-1].file_size)
    best = max(fitting, key=lambda size: (size.width * size.height, size.file_size or 0))
    return FileRef("photo", best.file_id, "image/jpeg", best.file_size)


def _document(document: Document, max_file_bytes: int) -> FileRef:
    mime_type = document.mime_type
    if not (mime_type or "").startswith("image/"):
        return FileRef("document", None, mime_type, document.file_size)
    small_enough = (document.file_size or 0) <= max_file_bytes
    return FileRef("photo", document.file_id if small_enough else None, mime_type,
                   document.file_size)
