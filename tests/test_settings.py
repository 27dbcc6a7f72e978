"""Settings: defaults, environment, overrides, and clear errors naming the bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbt_server.settings import SETTINGS, Settings, SettingsError, load_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("var/cbt.sqlite3")
    assert settings.port == 8080 and settings.host == "127.0.0.1"


def test_every_setting_is_a_field_with_matching_default() -> None:
    fields = Settings.__dataclass_fields__
    assert {s.name for s in SETTINGS} == set(fields)
    defaults = Settings()
    for setting in SETTINGS:
        assert getattr(defaults, setting.name) == setting.default, setting.name


def test_environment_is_parsed() -> None:
    settings = load_settings(
        {
            "CBT_PORT": "9000",
            "CBT_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "CBT_WORKERS": "3",
            "CBT_ALLOWED_ORIGINS": "http://a, http://b",
            "CBT_PUBLIC_ORIGINS": "HTTP://CBT.School.lan:80/, https://[::1]:8443",
        }
    )
    assert settings.port == 9000
    assert not settings.is_sqlite
    assert settings.workers == 3
    assert settings.allowed_origins == ("http://a", "http://b")
    assert settings.public_origins == ("http://cbt.school.lan", "https://[::1]:8443")


def test_overrides_win_and_none_means_unset() -> None:
    settings = load_settings({"CBT_PORT": "9000"}, port=9100, host=None)
    assert settings.port == 9100 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CBT_PORT": "eighty"}, "CBT_PORT"),
        ({"CBT_PORT": "70000"}, "CBT_PORT"),
        ({"CBT_WORKERS": "0"}, "CBT_WORKERS"),
        ({"CBT_DOWNTIME_POLICY": "sometimes"}, "CBT_DOWNTIME_POLICY"),
        ({"CBT_WORKERS": "2"}, "PostgreSQL"),
        ({"CBT_BACKUP_EVERY_MINUTES": "0"}, "CBT_BACKUP_EVERY_MINUTES"),
        ({"CBT_BACKUP_EVERY_MINUTES": "nan"}, "CBT_BACKUP_EVERY_MINUTES"),
        ({"CBT_BACKUP_KEEP": "0"}, "CBT_BACKUP_KEEP"),
        ({"CBT_BACKUP_DIR": "/media/usb"}, "CBT_BACKUP_PASSPHRASE_FILE"),
        ({"CBT_PUBLIC_ORIGINS": "cbt.school.lan"}, "CBT_PUBLIC_ORIGINS"),
        ({"CBT_PUBLIC_ORIGINS": "http://cbt.lan/exam"}, "CBT_PUBLIC_ORIGINS"),
        ({"CBT_PUBLIC_ORIGINS": "ftp://cbt.lan"}, "CBT_PUBLIC_ORIGINS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env)


def test_unknown_override_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings({}, colour="blue")


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in text]
    assert missing == []


def test_several_workers_need_postgresql_however_settings_are_made() -> None:
    with pytest.raises(SettingsError, match="PostgreSQL"):
        Settings().replace(workers=2)
    with pytest.raises(SettingsError, match="PostgreSQL"):
        Settings(workers=2)
    pg = Settings(database_url="postgresql+asyncpg://u@h/db")
    assert pg.replace(workers=2).workers == 2
