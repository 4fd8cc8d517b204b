"""Settings from the environment (prefix ``PCMT_``) and an optional ``.env`` file."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/pcmt.db"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PCMT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path("./data")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master key (32+ bytes, base64 or hex); generated into data_dir when unset.",
    )
    default_language: Literal["vi", "en"] = "vi"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["kv", "json"] = "kv"
    log_file: Path | None = Field(
        default=None, description="Write log lines to this file instead of standard error."
    )
    log_sensitive: bool = Field(
        default=False, description="Debug only: allow platform ids in log lines."
    )

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    public_url: str | None = None

    zalo_bot_token: SecretStr | None = None
    zalo_bot_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_bot_mode: Literal["auto", "polling", "webhook"] = Field(
        default="auto", description="auto: a webhook when PCMT_PUBLIC_URL is set, else polling."
    )
    zalo_bot_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Zalo echoes on webhook calls; derived from the token when unset.",
    )
    zalo_bot_concurrency: int = Field(default=16, ge=1, le=256)
    zalo_bot_timeout_seconds: float = Field(default=10.0, gt=0)
    zalo_bot_max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    zalo_bot_backoff_seconds: float = Field(default=1.0, gt=0)
    zalo_bot_backoff_max_seconds: float = Field(default=300.0, gt=0)

    zalo_oa_app_id: str | None = Field(
        default=None, description="The Zalo app of the Official Account; runs the OA channel.")
    zalo_oa_app_secret: SecretStr | None = Field(
        default=None, description="The app's secret key, sent with every token refresh.")
    zalo_oa_secret_key: SecretStr | None = Field(
        default=None, description="The OA secret key of the app's webhook settings (signatures).")
    zalo_oa_api_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_oa_concurrency: int = Field(default=16, ge=1, le=256)
    zalo_oa_timeout_seconds: float = Field(default=10.0, gt=0)

    web_host: str = "0.0.0.0"  # noqa: S104 - a container must listen on all interfaces
    web_port: int | None = Field(default=None, ge=1, le=65535)

    admin_chat: str | None = None
    conversation_ttl_minutes: int = Field(default=60, ge=1)
    delivery_poll_seconds: float = Field(default=0.25, gt=0)
    """How often a sender with nothing in hand looks for newly due messages."""
    delivery_claim_ahead_seconds: float = Field(default=2.0, gt=0)
    """A sender keeps about this many seconds of sending at the overall budget claimed."""
    delivery_max_attempts: int = Field(default=8, ge=1)
    """Failed sends after which a message is a dead letter (``admin outbox``)."""
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_leader_seconds: float = Field(default=10.0, gt=0)
    """A channel's sender holds the token this long per renewal: a replica takes over a dead
    sender's token after at most this."""
    delivery_max_in_flight: int = Field(default=16, ge=1, le=512)
    """Sends a sender has under way at once (each to a different chat): the overall rate times
    a send's round trip is enough (30/s x 0.3 s is 9); each has its own connection."""
    delivery_retention_days: int = Field(default=7, ge=1)
    """Sent messages (sealed addresses and contents) are deleted this long after sending."""

    report_ack_hours: float = Field(default=24, gt=0)
    reports_per_day: int = Field(default=5, ge=1)
    report_card_delay_minutes: float = Field(default=60, ge=0)
    """A police card waits a random time up to this long, so that its arrival does not tell
    when the report was sent; 0 sends at once. Urgent categories never wait."""
    report_retention_days: int = Field(default=90, ge=1)
    spam_slowdown_days: int = Field(default=7, ge=1)

    checkin_craving_alert: int = Field(default=7, ge=0, le=10)
    """A craving at or above this (0-10) alerts the case officer."""
    checkin_mood_alert: int = Field(default=2, ge=1, le=5)
    """A mood at or below this (1-5) alerts the case officer."""
    checkin_reminder_hours: float = Field(default=24, gt=0)
    checkin_alert_escalate_hours: float = Field(default=4, gt=0)
    """An alert nobody acknowledged goes to the province after this."""
    checkin_link_days: int = Field(default=14, ge=1)

    deadline_reminder_days: str = Field(default="3,1,0",
                                        pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$")
    deadline_reminder_time: time = time(8, 0)
    deadline_follow_up_days: int = Field(default=30, ge=1, le=366)

    inbox_lease_seconds: float = Field(default=10.0, ge=1)
    """An update recorded but not handled within this (its process died) is handled again by
    whichever replica looks next; the process handling it renews the lease meanwhile."""
    inbox_handle_delay_seconds: float = Field(default=0.0, ge=0)
    """For tests only: wait this long between recording an update and handling it, so a test
    can kill the process in between."""

    telegram_concurrency: int = Field(default=16, ge=1, le=256)
    telegram_messages_per_second: int = Field(default=30, ge=1)
    telegram_chat_messages_per_second: int = Field(default=1, ge=1)
    telegram_group_messages_per_minute: int = Field(default=20, ge=1)
    telegram_paid_broadcast: bool = Field(
        default=False,
        description="Paid broadcasts (Telegram Stars): up to 1000 messages/s over all chats.")
    telegram_timeout_seconds: float = Field(default=10.0, gt=0)
    telegram_max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported driver {url.drivername!r}; use sqlite+aiosqlite or postgresql+asyncpg"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("telegram_base_url", "telegram_base_file_url", "zalo_bot_base_url",
                     "zalo_oa_api_url", "zalo_oa_oauth_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("zalo_bot_webhook_secret")
    @classmethod
    def _zalo_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise ValueError("must be 8 to 256 characters (Zalo's limits)")
        return value

    @field_validator("zalo_oa_app_id")
    @classmethod
    def _zalo_app_id(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isdigit()):
            raise ValueError("must be the app's number from the Zalo developer console")
        return value

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this deployment can run: the console always, Telegram and the Zalo
        Bot Platform each with its token, the Zalo OA with its app."""
        configured = [("telegram", self.telegram_token), ("zalo_bot", self.zalo_bot_token),
                      ("zalo_oa", self.zalo_oa_app_id)]
        return ("console", *(name for name, token in configured if token is not None))

    @property
    def messaging(self) -> bool:
        """Whether a messaging platform is configured (else ``run`` talks on the console)."""
        return len(self.channels) > 1

    @property
    def deadline_reminder_offsets(self) -> tuple[int, ...]:
        """Working days before a due date on which reminders go out (0: the due day)."""
        return tuple(sorted({int(day) for day in self.deadline_reminder_days.split(",")},
                            reverse=True))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning the first validation problem into a :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"PCMT_{field.upper()}", first["msg"]) from None
