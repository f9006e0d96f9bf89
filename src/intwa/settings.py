"""Typed settings (SPEC §5): TOML decoded into msgspec Structs, then `INTWA_<SECTION>__<KEY>` overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

ENV_PREFIX = "INTWA_"


class SettingsError(Exception):
    """The configuration cannot be used; the message names the key."""


class Secret:
    """A string that never shows itself in `repr`, `str` or logs; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class ServerSettings(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 65536
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0 = off
    # The limits that keep one client from holding a worker (SPEC §7); `server_protocol.py` applies them.
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1048576)] = 16384  # request line + headers
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 1000  # per worker
    request_read_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    keep_alive_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0


class StorageSettings(_Section, frozen=True):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: str = "var/intwa.db"
    postgres_dsn: Secret = msgspec.field(default_factory=lambda: Secret(""))


class ProviderSettings(_Section, frozen=True):
    backend: Literal["graph", "fake"] = "graph"
    fake_data: str = ""


class GraphSettings(_Section, frozen=True):
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v25.0"
    access_token: Secret = msgspec.field(default_factory=lambda: Secret(""))
    timeout_seconds: float = 10.0
    max_retries: int = 3


class CacheSettings(_Section, frozen=True):
    ttl_seconds: float = 300
    max_stale_seconds: float = 86400
    # How long a request with a servable snapshot waits for a refresh before it is answered from it (SPEC §3.7).
    refresh_wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0


class SyncSettings(_Section, frozen=True):
    interval_seconds: float = 900


class WebhookSettings(_Section, frozen=True):
    verify_token: Secret = msgspec.field(default_factory=lambda: Secret(""))
    app_secret: Secret = msgspec.field(default_factory=lambda: Secret(""))


class EventsSettings(_Section, frozen=True):
    retention_days: Annotated[float, msgspec.Meta(gt=0)] = 7  # Meta webhook events are kept this long


class LoggingSettings(_Section, frozen=True):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["text", "json"] = "text"
    access_log: bool = True  # one line per HTTP request at INFO on `intwa.access`


class Settings(_Section, frozen=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    provider: ProviderSettings = msgspec.field(default_factory=ProviderSettings)
    graph: GraphSettings = msgspec.field(default_factory=GraphSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    sync: SyncSettings = msgspec.field(default_factory=SyncSettings)
    webhook: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    events: EventsSettings = msgspec.field(default_factory=EventsSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)


def _decode_secret(type_: type, value: Any) -> Any:
    if type_ is Secret and isinstance(value, str):
        return Secret(value)
    raise NotImplementedError


def _section_types() -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {}
    for field in msgspec.structs.fields(Settings):
        section_type = field.type
        sections[field.name] = {f.name: f.type for f in msgspec.structs.fields(section_type)}
    return sections


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a TOML file (or defaults without one) and `INTWA_<SECTION>__<KEY>` variables.

    Raises `SettingsError` naming the file, key or variable that is wrong.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"configuration file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"configuration file {path} cannot be read: {error}") from None
    settings = _convert(raw, strict=True, where=f" in {path}" if path is not None else "")
    sections = _section_types()
    for variable, value in environ.items():
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        section, _, key = variable[len(ENV_PREFIX) :].lower().partition("__")
        if section not in sections or key not in sections[section]:
            raise SettingsError(f"environment variable {variable} names no setting (unknown key `{section}.{key}`)")
        try:
            typed = msgspec.convert(value, sections[section][key], strict=False, dec_hook=_decode_secret)
        except msgspec.ValidationError as error:
            raise SettingsError(f"environment variable {variable} is invalid for `{section}.{key}`: {error}") from None
        settings = msgspec.structs.replace(
            settings, **{section: msgspec.structs.replace(getattr(settings, section), **{key: typed})}
        )
    return settings


def _convert(raw: dict[str, Any], *, strict: bool, where: str) -> Settings:
    try:
        return msgspec.convert(raw, Settings, strict=strict, dec_hook=_decode_secret)
    except msgspec.ValidationError as error:
        raise SettingsError(f"invalid configuration{where}: {error}") from None
