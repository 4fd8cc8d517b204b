"""A wrong setting stops start-up with one clear line and exit code 2."""

from __future__ import annotations

import pytest

from bot import cli
from bot.errors import ConfigError
from bot.settings import load_settings


@pytest.mark.parametrize(("name", "value"), [
    ("PCMT_DATABASE_URL", "mysql://root@localhost/db"),
    ("PCMT_DATABASE_URL", "not a url at all"),
    ("PCMT_WEB_PORT", "seventy"),
    ("PCMT_DEFAULT_LANGUAGE", "fr"),
    ("PCMT_TELEGRAM_BASE_URL", "ftp://example.invalid/bot"),
])
def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                        value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == name


def test_plain_driver_names_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCMT_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert load_settings(_env_file=None).database_url.startswith("postgresql+asyncpg://")


def test_cli_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PCMT_DATABASE_URL", "mysql://root@localhost/db")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pcmt-bot: invalid setting PCMT_DATABASE_URL:")
    assert len(err.splitlines()) == 1


def test_unreachable_database_exits_2(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PCMT_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli.main(["chat"]) == 2
    err = capsys.readouterr().err.strip()
    assert "PCMT_DATABASE_URL" in err and len(err.splitlines()) == 1
