"""Structured logging: one event per line, ``key=value`` or JSON.

Log lines carry event names and counters, never message text, tokens or platform ids
(unless ``PCMT_LOG_SENSITIVE`` is set for debugging). Secrets that a library might print
(python-telegram-bot and httpx put the bot token in URLs) are masked by a filter.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

_SENSITIVE_KEYS = frozenset({"chat_id", "user_id", "external_id"})
_sensitive_allowed = False
_HANDLER_NAME = "pcmt"


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            fields["error"] = record.exc_info[0].__name__
        if self.as_json:
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{key}={_kv(value)}" for key, value in fields.items())


def _kv(value: object) -> str:
    text = str(value)
    if not text or any(ch in text for ch in ' ="'):
        return json.dumps(text, ensure_ascii=False)
    return text


class _MaskSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def configure(level: str = "INFO", fmt: str = "kv", *, secrets: Iterable[str] = (),
              sensitive: bool = False, file: Path | None = None) -> None:
    """Log to standard error, or to ``file`` (created 0600 in a 0700 directory)."""
    global _sensitive_allowed
    _sensitive_allowed = sensitive
    handler: logging.Handler
    if file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            file.touch(mode=0o600, exist_ok=True)
            handler = logging.FileHandler(file, encoding="utf-8")
        except OSError as exc:
            raise ConfigError("PCMT_LOG_FILE", f"cannot write {file} ({exc.strerror})") from None
    handler.setFormatter(_Formatter(as_json=fmt == "json"))
    handler.addFilter(_MaskSecrets(secrets))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler, so that one added by a test harness keeps listening.
    for replaced in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(replaced)
        replaced.close()
    root.addHandler(handler)
    root.setLevel(level)
    # Below WARNING these libraries echo content: request URLs with the bot token and update
    # bodies with what people wrote (httpx, httpcore, telegram), SQL parameters (aiosqlite,
    # sqlalchemy), request lines (aiohttp.access), every EXIF tag of a photo being sanitised,
    # GPS position and camera serial included (PIL). They stay there at any level of ours.
    for noisy in ("PIL", "httpx", "httpcore", "telegram", "aiohttp.access", "aiosqlite",
                  "sqlalchemy", "apscheduler", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``name`` with ``fields``; platform ids are dropped unless explicitly allowed."""
    if not logger.isEnabledFor(level):
        return  # events are logged on every message: no filtering for a level nobody reads
    if not _sensitive_allowed:
        fields = {key: value for key, value in fields.items() if key not in _SENSITIVE_KEYS}
    logger.log(level, name, extra={"fields": fields})
