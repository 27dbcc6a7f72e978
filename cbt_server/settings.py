"""Server settings, declared as data: each has a name, a default, an env var and help text.

One `Settings` object is built at start-up (from defaults, then the environment, then
explicit overrides such as CLI flags) and passed down; nothing reads the environment later.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cbt_server.origins import parse_origins


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    env: str
    help: str
    parse: Callable[[str], Any] = str


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"port out of range: {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1: {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"must be a number above 0: {text!r}")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}: {text!r}")
        return text

    return parse


def _networks(text: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks (`10.0.0.1`, `10.0.0.0/24`), normalized."""
    found: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                found.append(str(ipaddress.ip_network(part, strict=False)))
            except ValueError:
                raise ValueError(f"not an address or network: {part!r}") from None
    return tuple(found)


def _setting(default: Any, env: str, help: str, parse: Callable[[str], Any] = str) -> Any:
    """A `Settings` field with its env var, help text and parser kept beside its default."""
    meta = {"env": env, "help": help, "parse": parse}
    if isinstance(default, tuple):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the server, each declared once: default, env var, help, parser."""

    host: str = _setting("127.0.0.1", "CBT_HOST", "Address the server listens on.")
    port: int = _setting(8080, "CBT_PORT", "TCP port the server listens on.", _port)
    data_dir: str = _setting(
        "var", "CBT_DATA_DIR", "Folder for the SQLite database, keys and demo credentials."
    )
    database_url: str = _setting(
        "",
        "CBT_DATABASE_URL",
        "SQLAlchemy URL. Empty: SQLite file cbt.sqlite3 in data_dir. "
        "PostgreSQL: postgresql+asyncpg://user@host/db.",
    )
    sqlite_synchronous: str = _setting(
        "FULL",
        "CBT_SQLITE_SYNCHRONOUS",
        "SQLite PRAGMA synchronous. FULL makes an acknowledged answer survive power loss.",
        _choice("FULL", "NORMAL"),
    )
    workers: int = _setting(
        1,
        "CBT_WORKERS",
        "Server processes sharing the port (more than 1 needs PostgreSQL and SO_REUSEPORT: "
        "not on Windows).",
        _positive_int,
    )
    event_loop: str = _setting(
        "auto",
        "CBT_EVENT_LOOP",
        "Event loop: auto (uvloop where installed, else asyncio's own), uvloop or asyncio.",
        _choice("auto", "uvloop", "asyncio"),
    )
    downtime_policy: str = _setting(
        "not_counted",
        "CBT_DOWNTIME_POLICY",
        "How server downtime counts against candidates' time: not_counted (given back) or counted.",
        _choice("not_counted", "counted"),
    )
    public_origins: tuple[str, ...] = _setting(
        (),
        "CBT_PUBLIC_ORIGINS",
        "Comma-separated origins the site's pages are served from, e.g. "
        "http://cbt.school.lan:8080. Browsers' WebSocket upgrades must come from one of "
        "them or from the address the connection arrived at, as an IP literal "
        "(http://192.168.1.10:8080; http://localhost:PORT on loopback): a site reached "
        "by name or through a reverse proxy lists its origins here.",
        parse_origins,
    )
    allowed_origins: tuple[str, ...] = _setting(
        (),
        "CBT_ALLOWED_ORIGINS",
        "Extra comma-separated origins accepted for WebSocket upgrades, besides public_origins.",
        parse_origins,
    )
    ws_pending_per_address: int = _setting(
        256,
        "CBT_WS_PENDING_PER_ADDRESS",
        "WebSocket connections from one client address that may be open without having "
        "logged in; past it an upgrade is refused (429). A room behind NAT or a reverse "
        "proxy shares one address.",
        _positive_int,
    )
    ws_pending_total: int = _setting(
        2048,
        "CBT_WS_PENDING_TOTAL",
        "WebSocket connections that may be open without having logged in, from all "
        "addresses; past it an upgrade is refused (503). Never more than half the "
        "process's open-file limit.",
        _positive_int,
    )
    tls_cert: str = _setting(
        "",
        "CBT_TLS_CERT",
        "PEM certificate (chain) file: with tls_key the server speaks HTTPS and WSS itself.",
    )
    tls_key: str = _setting("", "CBT_TLS_KEY", "PEM private key file of tls_cert.")
    trusted_proxies: tuple[str, ...] = _setting(
        (),
        "CBT_TRUSTED_PROXIES",
        "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed (e.g. 127.0.0.1). From anyone else those "
        "headers are ignored.",
        _networks,
    )
    lab_admin_name: str = _setting(
        "",
        "CBT_LAB_ADMIN_NAME",
        "Name of the site's dedicated lab administrator (required for lab readiness).",
    )
    max_ws_message_bytes: int = _setting(
        16384,
        "CBT_MAX_WS_MESSAGE_BYTES",
        "Largest WebSocket message accepted from a client, in bytes.",
        _positive_int,
    )
    max_upload_bytes: int = _setting(
        20 * 1024 * 1024,
        "CBT_MAX_UPLOAD_BYTES",
        "Largest HTTP request body accepted (rosters, item files, packages), in bytes.",
        _positive_int,
    )
    staff_login_account_limit: int = _setting(
        50,
        "CBT_STAFF_LOGIN_ACCOUNT_LIMIT",
        "Failed staff logins for one account from all addresses together in 15 minutes "
        "that lock it everywhere for 15 minutes (5 from one address lock it from that "
        "address only).",
        _positive_int,
    )
    practice_max_candidates: int = _setting(
        200,
        "CBT_PRACTICE_MAX_CANDIDATES",
        "Most candidates one practice session holds (rostered ones included; each gets a "
        "paper): a login by practice code that would make one more is refused.",
        _positive_int,
    )
    backup_dir: str = _setting(
        "",
        "CBT_BACKUP_DIR",
        "Folder for automatic backups while an exam is open (another disk or a USB stick). "
        "Empty: no automatic backups.",
    )
    backup_every_minutes: float = _setting(
        5.0,
        "CBT_BACKUP_EVERY_MINUTES",
        "Minutes between automatic backups while a session is open for check-in or started "
        "(one more follows when the last one ends).",
        _positive_float,
    )
    backup_keep: int = _setting(
        12,
        "CBT_BACKUP_KEEP",
        "Automatic backups kept in backup_dir; older ones are deleted.",
        _positive_int,
    )
    backup_passphrase_file: str = _setting(
        "",
        "CBT_BACKUP_PASSPHRASE_FILE",
        "File holding the passphrase that seals the site's keys in backups (needed with "
        "backup_dir; `cbt-server backup` also reads it).",
    )
    centre_pull_seconds: int = _setting(
        300,
        "CBT_CENTRE_PULL_SECONDS",
        "City centre (`cbt-server centre serve`): seconds between two pulls of every "
        "registered site.",
        _positive_int,
    )
    log_level: str = _setting(
        "INFO", "CBT_LOG_LEVEL", "Logging level.", _choice("DEBUG", "INFO", "WARNING", "ERROR")
    )

    def __post_init__(self) -> None:
        # Checked here so that every way of making settings (load_settings, replace) holds it.
        if self.workers > 1 and self.is_sqlite:
            raise SettingsError("workers > 1 needs PostgreSQL (set CBT_DATABASE_URL)")
        if self.workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
            # Windows has no SO_REUSEPORT: the workers could not share the port.
            raise SettingsError(
                "workers > 1 needs SO_REUSEPORT, which this system (Windows) does not have: "
                "run one process (workers 1), or several single-worker servers on "
                "different ports behind a load balancer"
            )
        if self.backup_dir and not self.backup_passphrase_file:
            raise SettingsError(
                "CBT_BACKUP_DIR needs CBT_BACKUP_PASSPHRASE_FILE: backups hold the site's keys, "
                "sealed with that passphrase"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError("tls_cert and tls_key go together: give both or neither")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one or the SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_path / 'cbt.sqlite3'}"

    @property
    def local_url(self) -> str:
        """The server's address as a browser on this machine opens it: a server listening
        on every address (0.0.0.0, ::) is reached at 127.0.0.1, which also works on Windows."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _declared(spec: dataclasses.Field[Any]) -> Setting:
    default = spec.default_factory() if callable(spec.default_factory) else spec.default
    meta = spec.metadata
    return Setting(spec.name, default, meta["env"], meta["help"], meta["parse"])


SETTINGS: tuple[Setting, ...] = tuple(_declared(spec) for spec in dataclasses.fields(Settings))
"""The settings as data (name, default, env var, help), read from the `Settings` fields."""

_BY_NAME = {s.name: s for s in SETTINGS}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, then `environ`, then explicit overrides (None = unset)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None:
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{setting.env}: {exc}") from None
    for name, value in overrides.items():
        if name not in _BY_NAME:
            raise SettingsError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = value
    return Settings(**values)
