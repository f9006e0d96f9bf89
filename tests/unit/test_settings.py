"""The configuration's safety rails (SPEC §5): ranges, typed environment values, enums, the Graph API version."""

from __future__ import annotations

from pathlib import Path

import pytest

from intwa.settings import Settings, SettingsError, load_settings

CONFIG_FOLDER = Path(__file__).parents[2] / "config"
TOKEN = "EAAG-operator-token-that-must-never-show"


def load_toml(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "intwa.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ or {})


def toml_error(tmp_path: Path, text: str) -> str:
    """The message of the `SettingsError` that loading this TOML raises, without its file prefix."""
    with pytest.raises(SettingsError) as raised:
        load_toml(tmp_path, text)
    message = str(raised.value)
    prefix = f"invalid configuration in {tmp_path / 'intwa.toml'}: "
    assert message.startswith(prefix), message
    return message.removeprefix(prefix)


def env_error(**variables: str) -> str:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, {f"INTWA_{name}": value for name, value in variables.items()})
    return str(raised.value)


@pytest.mark.parametrize("path", sorted(CONFIG_FOLDER.glob("*.toml")), ids=lambda path: path.name)
def test_the_shipped_configuration_files_load(path: Path) -> None:
    assert isinstance(load_settings(path, {}), Settings)


@pytest.mark.parametrize(
    ("section", "line", "message"),
    [
        ("server", "port = -1", "`server.port` must be between 1 and 65535, got -1"),
        ("server", "port = 65536", "`server.port` must be between 1 and 65535, got 65536"),
        ("server", "workers = 0", "`server.workers` must be at least 1, got 0"),
        ("server", "max_body_bytes = 0", "`server.max_body_bytes` must be at least 1, got 0"),
        ("server", "rate_limit_per_minute = -5", "`server.rate_limit_per_minute` must be at least 0, got -5"),
        ("server", "max_header_bytes = 100", "`server.max_header_bytes` must be between 1024 and 1048576, got 100"),
        ("server", "max_connections = 0", "`server.max_connections` must be at least 1, got 0"),
        (
            "server",
            "keep_alive_seconds = 0",
            "`server.keep_alive_seconds` must be greater than 0 and at most 3600, got 0",
        ),
        ("cache", "ttl_seconds = -300", "`cache.ttl_seconds` must be greater than 0, got -300"),
        ("cache", "max_stale_seconds = -1", "`cache.max_stale_seconds` must be at least 0, got -1"),
        ("cache", "refresh_wait_seconds = 60.5", "`cache.refresh_wait_seconds` must be between 0 and 60, got 60.5"),
        ("sync", "interval_seconds = -900", "`sync.interval_seconds` must be at least 0, got -900"),
        ("graph", "timeout_seconds = -1.5", "`graph.timeout_seconds` must be greater than 0, got -1.5"),
        ("graph", "max_retries = 11", "`graph.max_retries` must be between 0 and 10, got 11"),
        ("events", "retention_days = 0", "`events.retention_days` must be greater than 0, got 0"),
        ("events", "timeout_seconds = 0", "`events.timeout_seconds` must be greater than 0, got 0"),
        ("events", "max_in_flight = 0", "`events.max_in_flight` must be between 1 and 100, got 0"),
        ("events", "max_in_flight = 101", "`events.max_in_flight` must be between 1 and 100, got 101"),
        ("events", "retry_schedule = []", "`events.retry_schedule` must not be empty"),
        ("events", "retry_schedule = [5, 0]", "`events.retry_schedule` item 2 must be greater than 0, got 0"),
        ("events", "retry_schedule = [-5]", "`events.retry_schedule` item 1 must be greater than 0, got -5"),
        ("storage", 'sqlite_path = ""', "`storage.sqlite_path` must not be empty"),
        ("server", 'host = ""', "`server.host` must not be empty"),
    ],
)
def test_a_number_out_of_its_range_is_refused_naming_the_key_and_the_range(
    tmp_path: Path, section: str, line: str, message: str
) -> None:
    assert toml_error(tmp_path, f"[{section}]\n{line}\n") == message


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ("sync", "interval_seconds = 0"),
        ("server", "rate_limit_per_minute = 0"),
        ("cache", "max_stale_seconds = 0"),
        ("cache", "refresh_wait_seconds = 0"),
        ("graph", "max_retries = 0"),
        ("server", "port = 65535"),
    ],
)
def test_zero_and_the_bounds_themselves_are_accepted_where_the_range_allows(
    tmp_path: Path, section: str, line: str
) -> None:
    key, _, value = line.partition(" = ")

    settings = load_toml(tmp_path, f"[{section}]\n{line}\n")

    assert getattr(getattr(settings, section), key) == int(value)


@pytest.mark.parametrize(
    ("section", "line", "message"),
    [
        ("server", 'port = "8080"', '`server.port` must be an integer, got "8080"'),
        ("server", "workers = 2.5", "`server.workers` must be an integer, got 2.5"),
        ("server", "workers = true", "`server.workers` must be an integer, got true"),
        ("cache", "ttl_seconds = inf", "`cache.ttl_seconds` must be a number, got inf"),
        ("cache", "ttl_seconds = nan", "`cache.ttl_seconds` must be a number, got nan"),
        ("logging", 'access_log = "yes"', '`logging.access_log` must be a boolean (true or false), got "yes"'),
        ("logging", "access_log = 1", "`logging.access_log` must be a boolean (true or false), got 1"),
        ("server", "host = [1, 2]", "`server.host` must be a string, got an array"),
        ("storage", 'backend = "mysql"', '`storage.backend` must be one of "sqlite", "postgres", got "mysql"'),
        ("events", "retry_schedule = 5", "`events.retry_schedule` must be an array of numbers, got 5"),
        (
            "events",
            'retry_schedule = [5, "300"]',
            '`events.retry_schedule` must be an array of numbers, but item 2 is "300"',
        ),
        (
            "events",
            "retry_schedule = [5, inf]",
            "`events.retry_schedule` must be an array of numbers, but item 2 is inf",
        ),
        ("events", 'allow_http = "yes"', '`events.allow_http` must be a boolean (true or false), got "yes"'),
    ],
)
def test_a_value_of_the_wrong_type_in_the_file_is_refused_naming_the_key_and_the_type(
    tmp_path: Path, section: str, line: str, message: str
) -> None:
    assert toml_error(tmp_path, f"[{section}]\n{line}\n") == message


def test_unknown_sections_and_keys_and_a_section_that_is_no_table_are_named(tmp_path: Path) -> None:
    assert toml_error(tmp_path, "[servre]\nport = 1\n") == "unknown section `[servre]`"
    assert toml_error(tmp_path, "[server]\ncolour = 1\n") == "unknown key `server.colour`"
    assert toml_error(tmp_path, "server = 8080\n") == "`server` must be a table (`[server]`)"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SERVER__PORT", "abc", "`INTWA_SERVER__PORT`: expected an integer, got `abc`"),
        ("SERVER__WORKERS", "2.5", "`INTWA_SERVER__WORKERS`: expected an integer, got `2.5`"),
        ("CACHE__TTL_SECONDS", "5m", "`INTWA_CACHE__TTL_SECONDS`: expected a number, got `5m`"),
        ("CACHE__TTL_SECONDS", "inf", "`INTWA_CACHE__TTL_SECONDS`: expected a number, got `inf`"),
        (
            "LOGGING__ACCESS_LOG",
            "maybe",
            "`INTWA_LOGGING__ACCESS_LOG`: expected a boolean (true/false/1/0/yes/no), got `maybe`",
        ),
        (
            "STORAGE__BACKEND",
            "mysql",
            '`INTWA_STORAGE__BACKEND`: expected one of "sqlite", "postgres", got `mysql`',
        ),
    ],
)
def test_an_environment_value_that_is_not_of_its_keys_type_is_refused_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    assert env_error(**{variable: value}) == message


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SERVER__PORT", "0", "`INTWA_SERVER__PORT`: `server.port` must be between 1 and 65535, got 0"),
        ("SERVER__WORKERS", "0", "`INTWA_SERVER__WORKERS`: `server.workers` must be at least 1, got 0"),
        (
            "GRAPH__TIMEOUT_SECONDS",
            "-1",
            "`INTWA_GRAPH__TIMEOUT_SECONDS`: `graph.timeout_seconds` must be greater than 0, got -1",
        ),
    ],
)
def test_an_environment_value_out_of_range_names_the_variable_and_the_range(
    variable: str, value: str, message: str
) -> None:
    assert env_error(**{variable: value}) == message


def test_environment_values_are_parsed_as_their_keys_type(tmp_path: Path) -> None:
    settings = load_toml(
        tmp_path,
        "[server]\nport = 8080\n",
        {
            "INTWA_SERVER__PORT": " 9000 ",
            "INTWA_CACHE__TTL_SECONDS": "1.5",
            "INTWA_SYNC__INTERVAL_SECONDS": "0",
            "INTWA_SERVER__HOST": "0.0.0.0",
        },
    )

    assert (settings.server.port, settings.cache.ttl_seconds, settings.sync.interval_seconds) == (9000, 1.5, 0)
    assert settings.server.host == "0.0.0.0"


def test_the_callback_settings_default_to_standard_webhooks_retries_and_closed_url_rules() -> None:
    events = load_settings(None, {}).events

    assert events.timeout_seconds == 15.0
    assert events.retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert events.max_in_flight == 4
    assert (events.allow_http, events.allow_private_targets) == (False, False)


def test_a_retry_schedule_in_the_file_takes_integers_and_fractions(tmp_path: Path) -> None:
    settings = load_toml(tmp_path, "[events]\nretry_schedule = [1, 2.5, 60]\n")

    assert settings.events.retry_schedule == (1.0, 2.5, 60.0)


@pytest.mark.parametrize("value", ["5,60,3600", " 5 , 60 ,3600 ", "[5, 60, 3600]", "[5,60,3600.0]"])
def test_an_environment_retry_schedule_is_comma_separated_or_a_json_array(value: str) -> None:
    settings = load_settings(None, {"INTWA_EVENTS__RETRY_SCHEDULE": value})

    assert settings.events.retry_schedule == (5.0, 60.0, 3600.0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5,abc", "expected a list of numbers, comma-separated (`5,300`) or a JSON array (`[5, 300]`), got `5,abc`"),
        (
            '[5, "60"]',
            'expected a list of numbers, comma-separated (`5,300`) or a JSON array (`[5, 300]`), got `[5, "60"]`',
        ),
        ("[5, 60", "expected a list of numbers, comma-separated (`5,300`) or a JSON array (`[5, 300]`), got `[5, 60`"),
        ("5,,60", "expected a list of numbers, comma-separated (`5,300`) or a JSON array (`[5, 300]`), got `5,,60`"),
        ("", "`events.retry_schedule` must not be empty"),
        ("[]", "`events.retry_schedule` must not be empty"),
        ("5,0", "`events.retry_schedule` item 2 must be greater than 0, got 0"),
    ],
)
def test_a_wrong_environment_retry_schedule_names_the_variable_and_what_it_takes(value: str, message: str) -> None:
    assert env_error(EVENTS__RETRY_SCHEDULE=value) == f"`INTWA_EVENTS__RETRY_SCHEDULE`: {message}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("No", False)],
)
def test_an_environment_boolean_takes_the_usual_spellings(value: str, expected: bool) -> None:
    assert load_settings(None, {"INTWA_LOGGING__ACCESS_LOG": value}).logging.access_log is expected


@pytest.mark.parametrize(
    ("section", "key", "value", "canonical"),
    [
        ("logging", "level", "info", "INFO"),
        ("logging", "level", "Warning", "WARNING"),
        ("logging", "format", "JSON", "json"),
        ("storage", "backend", "Sqlite", "sqlite"),
        ("storage", "backend", "POSTGRES", "postgres"),
        ("provider", "backend", "FAKE", "fake"),
    ],
)
def test_enum_values_are_case_insensitive_and_kept_in_their_canonical_spelling(
    tmp_path: Path, section: str, key: str, value: str, canonical: str
) -> None:
    from_file = load_toml(tmp_path, f'[{section}]\n{key} = "{value}"\n')
    from_environment = load_settings(None, {f"INTWA_{section.upper()}__{key.upper()}": value})

    assert getattr(getattr(from_file, section), key) == canonical
    assert getattr(getattr(from_environment, section), key) == canonical


def test_a_graph_api_version_older_than_v24_is_refused_saying_why(tmp_path: Path) -> None:
    assert toml_error(tmp_path, '[graph]\napi_version = "v23.0"\n') == (
        "`graph.api_version` v23.0 is too old: intwa needs v24.0 or later (the messaging-limit field "
        "`whatsapp_business_manager_messaging_limit` does not exist before v24.0)"
    )
    assert env_error(GRAPH__API_VERSION="v19.0").startswith(
        "`INTWA_GRAPH__API_VERSION`: `graph.api_version` v19.0 is too old: intwa needs v24.0 or later"
    )


@pytest.mark.parametrize("version", ["25.0", "v25", "latest", "v25.0.1", "V25.0"])
def test_a_graph_api_version_that_does_not_look_like_vnn_n_is_refused(tmp_path: Path, version: str) -> None:
    assert toml_error(tmp_path, f'[graph]\napi_version = "{version}"\n') == (
        f'`graph.api_version` must look like vNN.N (e.g. "v25.0"), got "{version}"'
    )


@pytest.mark.parametrize("version", ["v24.0", "v25.0", "v30.1"])
def test_graph_api_versions_from_v24_on_are_accepted(version: str) -> None:
    assert load_settings(None, {"INTWA_GRAPH__API_VERSION": version}).graph.api_version == version


@pytest.mark.parametrize(
    "url", ["graph.facebook.com", "ftp://graph.facebook.com", "https://", "https://graph.example/?v=1", "http://h:x"]
)
def test_a_graph_base_url_that_is_not_an_http_url_is_refused(url: str) -> None:
    assert env_error(GRAPH__BASE_URL=url) == (
        f'`INTWA_GRAPH__BASE_URL`: `graph.base_url` must be an http(s) URL such as "https://graph.facebook.com", '
        f'got "{url}"'
    )


@pytest.mark.parametrize("url", ["https://graph.facebook.com/", "http://127.0.0.1:8081", "https://proxy.example/meta"])
def test_http_and_https_graph_base_urls_are_accepted(url: str) -> None:
    assert load_settings(None, {"INTWA_GRAPH__BASE_URL": url}).graph.base_url == url


@pytest.mark.parametrize(
    ("section", "key"),
    [("graph", "access_token"), ("webhook", "verify_token"), ("webhook", "app_secret"), ("storage", "postgres_dsn")],
)
def test_a_secret_of_the_wrong_type_is_refused_without_showing_it(tmp_path: Path, section: str, key: str) -> None:
    message = toml_error(tmp_path, f"[{section}]\n{key} = 987654321\n")

    assert message == f"`{section}.{key}` must be a string, got an integer"
    assert "987654321" not in message


def test_no_error_about_the_environment_shows_a_secret(tmp_path: Path) -> None:
    environ = {"INTWA_GRAPH__ACCESS_TOKEN": TOKEN, "INTWA_SERVER__PORT": "0"}

    with pytest.raises(SettingsError) as raised:
        load_toml(tmp_path, "[server]\nport = 8080\n", environ)
    with pytest.raises(SettingsError) as misspelt:
        load_settings(None, {"INTWA_GRAPH__ACCESS_TOKN": TOKEN})

    assert TOKEN not in str(raised.value)
    assert TOKEN not in str(misspelt.value)
    assert "INTWA_GRAPH__ACCESS_TOKN" in str(misspelt.value)
