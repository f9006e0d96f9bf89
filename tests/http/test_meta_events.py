"""Real Meta webhooks (`tests/fixtures/meta_webhooks/`) posted to the app, with what each does (SPEC §3.9)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container
from intwa.domain.errors import WabaNotAccessible
from intwa.domain.ports import Storage
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.entrypoints.composition import resolve
from tests import meta_webhooks
from tests.conftest import waba_info_item
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import APP_SECRET, META_WABA, META_WABA_ID, fake_data_with_meta_waba, sign

WEBHOOK = "/intwa-api/whatsapp/webhook"

# The WABAs the published payloads name, each with a phone number, so that a test can bind them.
PAYLOAD_WABAS = ("980198427658004", "1191624265890717", "184943124712545", "524126980791429")

REFRESH = "refreshes the WABA and keeps the event"
REFRESH_ONLY = "refreshes the WABA"
KEEP = "keeps the event, refreshes nothing"
NOTHING = "changes nothing, keeps nothing"

EXPECTED = {
    "account_update_account_deleted": REFRESH,
    "account_update_account_restriction": REFRESH,
    "account_update_account_violation": REFRESH,
    "account_update_account_disabled": REFRESH,
    "account_update_account_offboarded": REFRESH,
    "account_update_account_reconnected": REFRESH,
    "account_update_partner_added": REFRESH,
    "account_update_partner_app_installed": REFRESH,
    "account_update_partner_app_uninstalled": REFRESH,
    "account_update_partner_removed": REFRESH,
    "account_update_partner_removed_wa_app_disconnection": REFRESH,
    "business_capability_update": REFRESH,
    "account_update_ad_account_linked": KEEP,
    "account_update_authentication_international_eligibility": KEEP,
    "account_update_mm_api_for_wa_terms_of_service": KEEP,
    "account_update_partner_led_business_verification_status": KEEP,
    "account_update_primary_business_location_set": KEEP,
    "account_update_pricing_tiering_update": KEEP,
    "phone_number_quality_update_throughput_upgrade": REFRESH_ONLY,
    "phone_number_quality_update_synthetic_limit_change": REFRESH_ONLY,
    # Meta's published review decision is from February 2025: the snapshot the bind fetched is newer.
    "account_review_update_approved": NOTHING,
    # Not a field intwa handles.
    "account_alerts_capabilities_deferred": NOTHING,
    # Placeholder ids of the published examples ("whatsapp-business-account-id", "waba-id"): never bound.
    "account_update_disabled_schedule_for_disable": NOTHING,
    "account_update_restriction_legacy": NOTHING,
    "account_update_verified_account_legacy": NOTHING,
    "phone_number_quality_update_flagged_legacy": NOTHING,
    "phone_number_name_update_approved": NOTHING,
}


def phone_id_of(waba_id: str) -> str:
    return f"{waba_id[:10]}00001"


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    data = fake_data_with_meta_waba()
    for waba_id in PAYLOAD_WABAS:
        waba: dict[str, Any] = copy.deepcopy(META_WABA)
        waba["id"] = waba_id
        waba["phone_numbers"][0]["id"] = phone_id_of(waba_id)
        waba["phone_numbers"][0]["display_phone_number"] = f"+1 555-{waba_id[-7:-4]}-{waba_id[-4:]}"
        data["wabas"].append(waba)
    path = tmp_path / "fake-data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"WEBHOOK__APP_SECRET": APP_SECRET, "WEBHOOK__VERIFY_TOKEN": "test-verify-token"}


@pytest.fixture
async def bound_everything(api: Api) -> None:
    """Meta's example WABA and every WABA the published payloads name, bound to the test account."""
    for waba_id in (META_WABA_ID, *PAYLOAD_WABAS):
        phone_id = "106540352242922" if waba_id == META_WABA_ID else phone_id_of(waba_id)
        response = await api.bind(waba_id, phone_id)
        assert response.json()["code"] == 0, response.json()


async def post(api: Api, body: bytes) -> Any:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    return await api.client.post(WEBHOOK, content=body, headers=headers)


def fetches(provider: FakeProvider) -> int:
    return provider.calls["fetch_waba"] + provider.calls["fetch_phone_numbers"]


def test_every_published_payload_has_an_expected_effect() -> None:
    assert set(EXPECTED) == set(meta_webhooks.names())


@pytest.mark.usefixtures("bound_everything")
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_a_published_payload_does_what_the_spec_says(
    api: Api, container: Container, storage: Storage, fake_provider: FakeProvider, name: str
) -> None:
    apply_webhook: ApplyWebhook = await resolve(container.apply_webhook)
    body = meta_webhooks.load(name)
    [waba_id] = meta_webhooks.waba_ids(name)
    snapshot_before = await storage.get_snapshot(waba_id)
    calls = fetches(fake_provider)

    response = await post(api, body)
    api.client.blocking_portal.call(apply_webhook.drain)

    assert response.status_code == 200
    assert response.json()["code"] == 0
    kept = [(event.waba_id, event.field) for event in await storage.list_webhook_events()]
    field = json.loads(body)["entry"][0]["changes"][0]["field"]
    refreshed = fetches(fake_provider) - calls
    expected = EXPECTED[name]
    if expected == REFRESH:
        assert (refreshed, kept) == (2, [(waba_id, field)])
    elif expected == REFRESH_ONLY:
        assert (refreshed, kept) == (2, [])
    elif expected == KEEP:
        assert (refreshed, kept) == (0, [(waba_id, field)])
    else:
        assert (refreshed, kept) == (0, [])
        assert await storage.get_snapshot(waba_id) == snapshot_before
        assert await storage.list_history() == []


@pytest.mark.usefixtures("bound_everything")
async def test_a_published_deletion_makes_phone_info_42200_and_lists_the_waba_as_not_accessible(
    api: Api, container: Container, fake_provider: FakeProvider
) -> None:
    apply_webhook: ApplyWebhook = await resolve(container.apply_webhook)
    fake_provider.fail_with(META_WABA_ID, WabaNotAccessible("Object with ID '102290129340398' does not exist"))

    await post(api, meta_webhooks.load("account_update_account_deleted"))
    api.client.blocking_portal.call(apply_webhook.drain)

    phone_info = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": META_WABA_ID})
    assert (phone_info.status_code, phone_info.json()["code"]) == (422, 42200)
    waba_info = await api.post("wabaInfo", {"accountName": ACCOUNT})
    assert waba_info.json()["code"] == 0
    listed = {waba["wabaId"]: waba for waba in waba_info.json()["data"]}
    assert listed[META_WABA_ID] == waba_info_item(META_WABA_ID, "Lucky Shrub", "PENDING", accessible=False)
    assert all(waba["accessible"] for waba_id, waba in listed.items() if waba_id != META_WABA_ID)
