"""Fixtures shared by every test layer: settings on a temporary SQLite file and the fake provider's data."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from intwa.settings import Settings, load_settings
from tests.postgres import PostgresServer, require_server

GRAPH_FIXTURES = Path(__file__).parent / "fixtures" / "graph"

WABA_ID = "278990000057661"
PHONE_ID = "267300000093634"
SECOND_PHONE_ID = "267300000093635"
OTHER_WABA_ID = "278990000057662"
OTHER_WABA_PHONE_ID = "267300000093636"
UNKNOWN_WABA_ID = "999990000000001"

FAKE_DATA: dict[str, Any] = {
    "wabas": [
        {
            "id": WABA_ID,
            "name": "PT TIG TECH",
            "account_review_status": "APPROVED",
            "phone_numbers": [
                {
                    "id": PHONE_ID,
                    "display_phone_number": "+62 852-1234-0016",
                    "verified_name": "TIG Tech",
                    "status": "CONNECTED",
                    "quality_rating": "GREEN",
                    "whatsapp_business_manager_messaging_limit": "TIER_250",
                },
                {
                    "id": SECOND_PHONE_ID,
                    "display_phone_number": "+62 852-1234-0017",
                    "verified_name": "TIG Tech Support",
                    "status": "FLAGGED",
                    "quality_rating": "NA",
                },
            ],
        },
        {
            "id": OTHER_WABA_ID,
            "name": "PT TIG CODE",
            "account_review_status": "PENDING",
            "phone_numbers": [
                {
                    "id": OTHER_WABA_PHONE_ID,
                    "display_phone_number": "+86 133-1234-5155",
                    "verified_name": "TIG Code",
                    "status": "CONNECTED",
                    "quality_rating": "YELLOW",
                    "whatsapp_business_manager_messaging_limit": "TIER_1K",
                }
            ],
        },
    ]
}


def phone_info_item(
    phone_id: str, display: str, name: str, status: str, quality: str, limit: str, **added: Any
) -> dict[str, Any]:
    """A phoneInfo item (SPEC §3.4): the seed's six fields, then the added ones `UNKNOWN`/`[]` unless given."""
    item = {
        "id": phone_id,
        "displayPhoneNumber": display,
        "verifiedName": name,
        "status": status,
        "qualityRating": quality,
        "messageLimit": limit,
        "canSendMessage": "UNKNOWN",
        "healthIssues": [],
        "nameStatus": "UNKNOWN",
        "codeVerificationStatus": "UNKNOWN",
        "platformType": "UNKNOWN",
        "throughputLevel": "UNKNOWN",
    }
    return {**item, **added}


def waba_info_item(waba_id: str, name: str, status: str, *, accessible: bool = True, **added: Any) -> dict[str, Any]:
    """A wabaInfo item (SPEC §3.5): the added fields `UNKNOWN`/`[]` unless given, `accessible` last."""
    item = {
        "wabaId": waba_id,
        "wabaName": name,
        "wabaStatus": status,
        "canSendMessage": "UNKNOWN",
        "healthIssues": [],
        "businessVerificationStatus": "UNKNOWN",
        "accessible": accessible,
    }
    return {**item, **added}


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    path = tmp_path / "fake-data.json"
    path.write_text(json.dumps(FAKE_DATA), encoding="utf-8")
    return path


def make_settings(tmp_path: Path, fake_data_path: Path, **overrides: str) -> Settings:
    """Settings for a test: SQLite under `tmp_path`, the fake provider, plus `SECTION__KEY` overrides."""
    environ: Mapping[str, str] = {
        "INTWA_STORAGE__SQLITE_PATH": str(tmp_path / "var" / "intwa.db"),
        "INTWA_PROVIDER__BACKEND": "fake",
        "INTWA_PROVIDER__FAKE_DATA": str(fake_data_path),
        **{f"INTWA_{key}": value for key, value in overrides.items()},
    }
    return load_settings(None, environ)


@pytest.fixture
def settings(tmp_path: Path, fake_data_path: Path) -> Settings:
    return make_settings(tmp_path, fake_data_path)


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The PostgreSQL server of `tests/postgres.py`; its tests are skipped (in CI: failed) without one."""
    return require_server()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The DSN of a database of this test session's own, dropped at its end."""
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


@pytest.fixture
def fresh_postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The DSN of an empty database of this test's own, dropped after it."""
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)
