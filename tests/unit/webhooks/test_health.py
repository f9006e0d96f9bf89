"""Meta's health verdict and a number's name status through webhooks: changes recorded, nothing else wiped."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import WabaNotAccessible
from intwa.domain.webhooks.apply import ApplyWebhook
from tests.conftest import GRAPH_FIXTURES
from tests.fakes.storage import InMemoryStorage
from tests.webhook_examples import META_PARTNER_BUSINESS_ID, META_PHONE_ID, META_WABA_ID, fixture_body, notification

NAME_NOT_APPROVED = (
    "Your display name has not been approved yet. Your message limit will increase after the display name is approved."
)


def entities(phone: str = "AVAILABLE", waba: str = "AVAILABLE", **phone_extra: Any) -> list[dict[str, Any]]:
    """The entities of a phone number's `health_status`, as Meta lists them."""
    return [
        {"entity_type": "PHONE_NUMBER", "id": META_PHONE_ID, "can_send_message": phone, **phone_extra},
        {"entity_type": "WABA", "id": META_WABA_ID, "can_send_message": waba},
        {"entity_type": "BUSINESS", "id": "506914307656634", "can_send_message": "AVAILABLE"},
        {"entity_type": "APP", "id": "634974688087057", "can_send_message": "AVAILABLE"},
    ]


def limited_by_its_name() -> dict[str, Any]:
    return {
        "can_send_message": "LIMITED",
        "entities": entities("LIMITED", additional_info=[NAME_NOT_APPROVED]),
    }


def blocked_waba() -> dict[str, Any]:
    document = json.loads((GRAPH_FIXTURES / "waba_health_blocked.json").read_bytes())
    health: dict[str, Any] = document["health_status"]
    for entity in health["entities"]:
        if entity["entity_type"] == "WABA":
            entity["id"] = META_WABA_ID
    return health


async def bind_meta_waba(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    await accounts.create("IW0001")
    await bind("IW0001", META_WABA_ID, META_PHONE_ID)


async def test_an_approved_name_records_the_name_status_and_the_lifted_limit_from_the_refresh(
    apply_webhook: ApplyWebhook,
    storage: InMemoryStorage,
    provider: FakeProvider,
    accounts: AccountAdministration,
    bind: BindPhoneNumber,
) -> None:
    provider.update_phone(
        META_WABA_ID, META_PHONE_ID, name_status="PENDING_REVIEW", health_status=limited_by_its_name()
    )
    await bind_meta_waba(accounts, bind)
    provider.update_phone(
        META_WABA_ID,
        META_PHONE_ID,
        name_status="APPROVED",
        health_status={"can_send_message": "AVAILABLE", "entities": entities()},
    )

    await apply_webhook(fixture_body("phone_number_name_update"))
    await apply_webhook.drain()

    history = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [
        ("canSendMessage", "LIMITED", "AVAILABLE", "webhook"),
        ("nameStatus", "PENDING_REVIEW", "APPROVED", "webhook"),
    ]
    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.phone_numbers[0].health_issues == ()


async def test_an_account_update_records_the_wabas_verdict_going_to_blocked(
    apply_webhook: ApplyWebhook,
    storage: InMemoryStorage,
    provider: FakeProvider,
    accounts: AccountAdministration,
    bind: BindPhoneNumber,
) -> None:
    waba_health = {"can_send_message": "AVAILABLE", "entities": entities()[1:]}
    provider.update_waba(META_WABA_ID, health_status=waba_health)
    await bind_meta_waba(accounts, bind)
    provider.update_waba(META_WABA_ID, health_status=blocked_waba())

    await apply_webhook(fixture_body("account_update_restriction"))
    await apply_webhook.drain()

    history = await storage.list_history(META_WABA_ID)
    assert [(c.phone_number_id, c.field, c.old, c.new, c.source) for c in history] == [
        (None, "canSendMessage", "AVAILABLE", "BLOCKED", "webhook")
    ]
    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert [(i.error_code, i.entity_type) for i in snapshot.waba.health_issues] == [(141006, "WABA")]


async def test_a_review_decision_keeps_the_verdicts_and_the_numbers_state(
    apply_webhook: ApplyWebhook,
    storage: InMemoryStorage,
    provider: FakeProvider,
    accounts: AccountAdministration,
    bind: BindPhoneNumber,
) -> None:
    provider.update_waba(META_WABA_ID, health_status=blocked_waba(), business_verification_status="verified")
    provider.update_phone(
        META_WABA_ID,
        META_PHONE_ID,
        name_status="PENDING_REVIEW",
        platform_type="CLOUD_API",
        throughput={"level": "STANDARD"},
        health_status=limited_by_its_name(),
    )
    await bind_meta_waba(accounts, bind)
    before = await storage.get_snapshot(META_WABA_ID)
    assert before is not None

    value = {"decision": "REJECTED"}
    await apply_webhook(notification("account_review_update", value))

    after = await storage.get_snapshot(META_WABA_ID)
    assert after is not None
    assert after.waba == msgspec.structs.replace(before.waba, review_status="REJECTED")
    assert after.waba.can_send_message == "BLOCKED"
    assert after.waba.business_verification_status == "verified"
    assert after.phone_numbers == before.phone_numbers
    assert after.phone_numbers[0].can_send_message == "LIMITED"


async def test_a_waba_meta_no_longer_answers_for_keeps_its_last_known_verdict(
    apply_webhook: ApplyWebhook,
    storage: InMemoryStorage,
    provider: FakeProvider,
    accounts: AccountAdministration,
    bind: BindPhoneNumber,
) -> None:
    provider.update_waba(META_WABA_ID, health_status=blocked_waba())
    await bind_meta_waba(accounts, bind)
    provider.fail_with(META_WABA_ID, WabaNotAccessible("the platform's app is not installed on this WABA"))
    value = {"event": "PARTNER_APP_UNINSTALLED", "waba_info": {"waba_id": META_WABA_ID}}

    await apply_webhook(notification("account_update", value, entry_id=META_PARTNER_BUSINESS_ID))
    await apply_webhook.drain()

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert (snapshot.accessible, snapshot.waba.can_send_message) == (False, "BLOCKED")
    assert [i.error_code for i in snapshot.waba.health_issues] == [141006]
