"""POST /intwa-api/whatsapp/account/phoneInfo and /wabaInfo (SPEC §3.4, §3.5)."""

from __future__ import annotations

from intwa.adapters.provider.fake import FakeProvider
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, UNKNOWN_WABA_ID, WABA_ID
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api


async def test_phone_info_lists_every_phone_of_the_waba_in_the_providers_order(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})

    assert response.status_code == 200
    assert response.json() == {
        "code": 0,
        "message": "Success",
        "data": [
            {
                "id": PHONE_ID,
                "displayPhoneNumber": "+62 852-1234-0016",
                "verifiedName": "TIG Tech",
                "status": "CONNECTED",
                "qualityRating": "GREEN",
                "messageLimit": "TIER_250",
                "canSendMessage": "UNKNOWN",
                "healthIssues": [],
                "nameStatus": "UNKNOWN",
                "codeVerificationStatus": "UNKNOWN",
                "platformType": "UNKNOWN",
                "throughputLevel": "UNKNOWN",
            },
            {
                "id": "267300000093635",
                "displayPhoneNumber": "+62 852-1234-0017",
                "verifiedName": "TIG Tech Support",
                "status": "FLAGGED",
                "qualityRating": "NA",
                "messageLimit": "UNKNOWN",
                "canSendMessage": "UNKNOWN",
                "healthIssues": [],
                "nameStatus": "UNKNOWN",
                "codeVerificationStatus": "UNKNOWN",
                "platformType": "UNKNOWN",
                "throughputLevel": "UNKNOWN",
            },
        ],
    }


async def test_phone_info_within_the_ttl_asks_the_provider_nothing(api: Api, fake_provider: FakeProvider) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    calls_after_bind = sum(fake_provider.calls.values())

    for _ in range(3):
        await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})

    assert sum(fake_provider.calls.values()) == calls_after_bind


async def test_phone_info_answers_the_same_404_for_unknown_and_foreign_wabas(api: Api) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, account=OTHER_ACCOUNT)

    foreign = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": OTHER_WABA_ID})
    unknown = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": UNKNOWN_WABA_ID})

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == unknown.json()["code"] == 40400
    assert foreign.json()["message"].replace(OTHER_WABA_ID, "X") == unknown.json()["message"].replace(
        UNKNOWN_WABA_ID, "X"
    )


async def test_waba_info_lists_the_accounts_wabas_by_first_binding(api: Api) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert response.status_code == 200
    assert response.json() == {
        "code": 0,
        "message": "Success",
        "data": [
            {
                "wabaId": OTHER_WABA_ID,
                "wabaName": "PT TIG CODE",
                "wabaStatus": "PENDING",
                "canSendMessage": "UNKNOWN",
                "healthIssues": [],
                "businessVerificationStatus": "UNKNOWN",
                "accessible": True,
            },
            {
                "wabaId": WABA_ID,
                "wabaName": "PT TIG TECH",
                "wabaStatus": "APPROVED",
                "canSendMessage": "UNKNOWN",
                "healthIssues": [],
                "businessVerificationStatus": "UNKNOWN",
                "accessible": True,
            },
        ],
    }


async def test_waba_info_of_an_account_without_bindings_is_an_empty_list(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID, account=OTHER_ACCOUNT)

    response = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert response.json() == {"code": 0, "message": "Success", "data": []}
