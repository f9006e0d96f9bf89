"""Typed settings (SPEC §5): TOML decoded into msgspec Structs, then `INTWA_<SECTION>__<KEY>` overrides."""

from __future__ import annotations

import functools
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from intwa.settings_rules import Check, OutOfRule, Rule, WrongType, graph_api_version, http_url

ENV_PREFIX = "INTWA_"
# `password=…`, `sslpassword=…` in a DSN's query string, up to the next parameter.
_PASSWORD_PARAMETER = re.compile(r"((?:^|[?&])[^?&=]*password=)[^&]*", re.IGNORECASE)


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


# The ranges of §5: msgspec enforces them, and `settings_rules` states them in words when a value is outside.
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


class ServerSettings(_Section, frozen=True):
    host: Text = "127.0.0.1"
    port: Port = 8080
    workers: Positive = 1
    max_body_bytes: Positive = 65536
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0 = off
    # The limits that keep one client from holding a worker (SPEC §7); `server_protocol.py` applies them.
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1048576)] = 16384  # request line + headers
    max_connections: Positive = 1000  # per worker
    request_read_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    keep_alive_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0


class StorageSettings(_Section, frozen=True):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Text = "var/intwa.db"  # empty would open a database in memory, lost at exit
    postgres_dsn: Secret = msgspec.field(default_factory=lambda: Secret(""))


class ProviderSettings(_Section, frozen=True):
    backend: Literal["graph", "fake"] = "graph"
    fake_data: str = ""


class GraphSettings(_Section, frozen=True):
    base_url: Annotated[str, Check(http_url)] = "https://graph.facebook.com"
    api_version: Annotated[str, Check(graph_api_version)] = "v25.0"
    access_token: Secret = msgspec.field(default_factory=lambda: Secret(""))
    timeout_seconds: Seconds = 10.0
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3


class CacheSettings(_Section, frozen=True):
    ttl_seconds: Seconds = 300.0
    max_stale_seconds: Annotated[float, msgspec.Meta(ge=0)] = 86400.0
    # How long a request with a servable snapshot waits for a refresh before it is answered from it (SPEC §3.7).
    refresh_wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0


class SyncSettings(_Section, frozen=True):
    interval_seconds: Annotated[float, msgspec.Meta(ge=0)] = 900.0  # 0 = off


class WebhookSettings(_Section, frozen=True):
    verify_token: Secret = msgspec.field(default_factory=lambda: Secret(""))
    app_secret: Secret = msgspec.field(default_factory=lambda: Secret(""))


# Seconds after each failed attempt of a callback delivery (SPEC §3.10): Standard Webhooks' example schedule.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class EventsSettings(_Section, frozen=True):
    retention_days: Annotated[float, msgspec.Meta(gt=0)] = 7.0  # Meta webhook events are kept this long
    # Callbacks (SPEC §3.10): how long one attempt may take, when failed ones are tried again, how many go out
    # to one URL at a time, and the two switches that open the URL rules for local runs and tests.
    timeout_seconds: Seconds = 15.0
    retry_schedule: Annotated[tuple[Seconds, ...], msgspec.Meta(min_length=1)] = DEFAULT_RETRY_SCHEDULE
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=100)] = 4
    allow_http: bool = False
    allow_private_targets: bool = False


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


@functools.cache
def _rules() -> dict[str, dict[str, Rule]]:
    """Each section's keys and what they accept, read from the Structs' annotations."""
    sections = typing.get_type_hints(Settings)
    return {
        section: {
            key: Rule.of(f"{section}.{key}", annotation)
            for key, annotation in typing.get_type_hints(section_type, include_extras=True).items()
        }
        for section, section_type in sections.items()
    }


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a TOML file (or defaults without one) and `INTWA_<SECTION>__<KEY>` variables.

    Every value is checked against its key's type and range before use. Raises `SettingsError` naming the
    file and key, or the variable, that is wrong; a secret's value is never part of the message.
    """
    environ = os.environ if environ is None else environ
    where = f" in {path}" if path is not None else ""
    values = _file_values(_read_file(path), where) if path is not None else {}
    rules = _rules()
    for variable, text in environ.items():
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        section, _, key = variable[len(ENV_PREFIX) :].lower().partition("__")
        if key not in rules.get(section, {}):
            raise SettingsError(f"environment variable {variable} names no setting (unknown key `{section}.{key}`)")
        rule = rules[section][key]
        try:
            values.setdefault(section, {})[key] = rule.parse(text)
        except WrongType as error:
            raise SettingsError(f"`{variable}`: {error}") from None
        except OutOfRule as error:
            raise SettingsError(f"`{variable}`: `{rule.key}` {error}") from None
    try:
        return msgspec.convert(values, Settings, strict=True, dec_hook=_decode_secret)
    except msgspec.ValidationError as error:  # the rules above refuse first; this is msgspec's own word
        raise SettingsError(f"invalid configuration{where}: {error}") from None


def _read_file(path: str | Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"configuration file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"configuration file {path} cannot be read: {error}") from None


def _file_values(raw: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    """The file's values, each checked and in its canonical form, by section."""
    rules = _rules()
    values: dict[str, dict[str, Any]] = {}
    for section, keys in raw.items():
        if section not in rules:
            raise SettingsError(f"invalid configuration{where}: unknown section `[{section}]`")
        if not isinstance(keys, dict):
            raise SettingsError(f"invalid configuration{where}: `{section}` must be a table (`[{section}]`)")
        values[section] = {}
        for key, value in keys.items():
            if key not in rules[section]:
                raise SettingsError(f"invalid configuration{where}: unknown key `{section}.{key}`")
            try:
                values[section][key] = rules[section][key].check(value)
            except (WrongType, OutOfRule) as error:
                raise SettingsError(f"invalid configuration{where}: `{section}.{key}` {error}") from None
    return values


def masked_settings(settings: Settings) -> dict[str, dict[str, Any]]:
    """The settings as plain values an operator may see: every secret `"***"` when set, `""` when empty.

    The PostgreSQL DSN shows all but its password, so that the operator still sees which database is meant.
    """
    shown: dict[str, dict[str, Any]] = msgspec.to_builtins(settings, enc_hook=_masked_secret)
    shown["storage"]["postgres_dsn"] = _dsn_without_password(settings.storage.postgres_dsn.reveal())
    return shown


def _masked_secret(value: Any) -> str:
    if isinstance(value, Secret):
        return "***" if value else ""
    raise NotImplementedError


def _dsn_without_password(dsn: str) -> str:
    """`postgresql://user:***@host/db`; a DSN that is not such a URL may be all password, so all of it is hidden.

    The string is read as libpq reads it, not as a URL: a password may hold an unescaped `#` or `?`.
    """
    scheme, separator, rest = dsn.partition("://")
    if not dsn or scheme not in ("postgresql", "postgres") or not separator:
        return "***" if dsn else ""
    user, at, hosts = rest.rpartition("@")
    if ":" in user:
        user = user.partition(":")[0] + ":***"
    return f"{scheme}://" + _PASSWORD_PARAMETER.sub(r"\1***", f"{user}{at}{hosts}")
