"""Fake data files: the built-in demo, and clear errors for files that do not match SPEC §5.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.provider.fake_data import FakeDataError, load_fake_data, parse_fake_data

REPOSITORY = Path(__file__).parents[3]
SPEC_EXAMPLE_WABA = {
    "id": "278990000057661",
    "name": "PT TIG TECH",
    "account_review_status": "APPROVED",
    "phone_numbers": [
        {
            "id": "267300000093634",
            "display_phone_number": "+62 852-1234-0016",
            "verified_name": "TIG Tech",
            "status": "CONNECTED",
            "quality_rating": "GREEN",
            "whatsapp_business_manager_messaging_limit": "TIER_250",
        }
    ],
}


def test_the_demo_data_holds_the_specs_example_and_two_more_wabas() -> None:
    demo = load_fake_data("")

    assert [waba.id for waba in demo.wabas] == ["278990000057661", "278990000057662", "278990000057663"]
    tig_tech = demo.waba("278990000057661")
    assert tig_tech is not None
    spec_phone = SPEC_EXAMPLE_WABA["phone_numbers"][0]
    demo_phone = msgspec.to_builtins(tig_tech.phone_numbers[0])
    assert {name: demo_phone[name] for name in spec_phone} == spec_phone  # enriched with health, not changed
    assert len(tig_tech.phone_numbers) == 2


def test_the_demo_data_has_a_limited_number_and_a_blocked_waba_with_metas_reasons() -> None:
    demo = FakeProvider.from_file("")

    limited = asyncio.run(demo.fetch_phone_numbers("278990000057661"))[1]
    blocked = asyncio.run(demo.fetch_waba("278990000057662"))

    assert (limited.can_send_message, limited.name_status) == ("LIMITED", "PENDING_REVIEW")
    assert [issue.description for issue in limited.health_issues] == [
        "Your display name has not been approved yet. Your message limit will increase after the display name is"
        " approved."
    ]
    assert blocked.can_send_message == "BLOCKED"
    assert [(issue.entity_type, issue.error_code) for issue in blocked.health_issues] == [("WABA", 141006)]
    assert blocked.health_issues[0].possible_solution == (
        "There was an error with your payment method. Please add a new payment method to the account."
    )


def test_the_example_config_file_is_a_copy_of_the_demo_data() -> None:
    example = REPOSITORY / "config" / "fake-data.json"
    demo = REPOSITORY / "src" / "intwa" / "adapters" / "provider" / "demo_data.json"

    assert example.read_bytes() == demo.read_bytes()
    assert load_fake_data(str(example)).wabas == load_fake_data("").wabas


def test_the_specs_example_is_valid_fake_data(tmp_path: Path) -> None:
    path = tmp_path / "fake.json"
    path.write_text(json.dumps({"wabas": [SPEC_EXAMPLE_WABA]}), encoding="utf-8")

    assert [waba.id for waba in load_fake_data(str(path)).wabas] == ["278990000057661"]


def _with_phone(**phone: Any) -> dict[str, Any]:
    return {"wabas": [{**SPEC_EXAMPLE_WABA, "phone_numbers": [phone]}]}


BAD_DATA = [
    pytest.param("{not json", "not valid JSON", id="not-json"),
    pytest.param([], "Expected `object`", id="a-list"),
    pytest.param({}, "missing required field `wabas`", id="no-wabas"),
    pytest.param({"wabas": [{"name": "x"}]}, "missing required field `id`", id="waba-without-id"),
    pytest.param({"wabas": [{"id": 278990000057661}]}, "Expected `str`, got `int` - at `$.wabas[0].id`", id="int-id"),
    pytest.param({"wabas": [{"id": "27899-x"}]}, "`wabas[0].id` must be a string of 1-32 digits", id="bad-id"),
    pytest.param({"wabas": [{"id": "1", "nmae": "x"}]}, "unknown field `nmae`", id="typo"),
    pytest.param(_with_phone(id="1"), "missing required field `display_phone_number`", id="no-display-number"),
    pytest.param(
        _with_phone(id="1", display_phone_number="+1", quality="GREEN"), "unknown field `quality`", id="typo2"
    ),
    pytest.param(_with_phone(id="x", display_phone_number="+1"), "phone_numbers[0].id` must be", id="bad-phone-id"),
    pytest.param({"wabas": [{"id": "1"}, {"id": "1"}]}, "WABA `1` appears twice", id="duplicate-waba"),
    pytest.param(
        {"wabas": [SPEC_EXAMPLE_WABA, {**SPEC_EXAMPLE_WABA, "id": "2"}]},
        "phone number `267300000093634` appears twice",
        id="duplicate-phone",
    ),
]


@pytest.mark.parametrize(("content", "problem"), BAD_DATA)
def test_bad_fake_data_is_an_error_naming_the_file_and_the_problem(tmp_path: Path, content: Any, problem: str) -> None:
    path = tmp_path / "fake-data.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")

    with pytest.raises(FakeDataError) as raised:
        load_fake_data(str(path))

    assert str(path) in str(raised.value)
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_missing_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(FakeDataError, match=f"{path} does not exist"):
        load_fake_data(str(path))


def test_an_update_changes_only_the_named_fields_and_none_removes_one() -> None:
    data = parse_fake_data({"wabas": [SPEC_EXAMPLE_WABA]})

    data.update_phone("278990000057661", "267300000093634", quality_rating="RED", status=None)

    waba = data.waba("278990000057661")
    assert waba is not None
    phone = waba.phone_numbers[0]
    assert (phone.quality_rating, phone.verified_name) == ("RED", "TIG Tech")
    assert phone.to_domain().status == "UNKNOWN"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"quality": "RED"}, "no changeable Graph field `quality`"),
        ({"id": "1"}, "no changeable Graph field `id`"),
        ({"display_phone_number": None}, "needs a `display_phone_number`"),
        ({"status": 3}, "`status` must be a string"),
    ],
)
def test_an_update_that_breaks_the_format_is_refused(change: dict[str, Any], problem: str) -> None:
    data = parse_fake_data({"wabas": [SPEC_EXAMPLE_WABA]})

    with pytest.raises(FakeDataError, match=problem):
        data.update_phone("278990000057661", "267300000093634", **change)


def test_updating_what_the_data_lacks_is_refused() -> None:
    data = parse_fake_data({"wabas": [SPEC_EXAMPLE_WABA]})

    with pytest.raises(FakeDataError, match="no WABA `999`"):
        data.update_waba("999", name="x")
    with pytest.raises(FakeDataError, match="has no phone number `999`"):
        data.update_phone("278990000057661", "999", status="FLAGGED")


def test_a_nested_field_is_updated_in_graphs_shape_and_checked_like_a_files() -> None:
    data = parse_fake_data({"wabas": [SPEC_EXAMPLE_WABA]})
    health = {
        "can_send_message": "BLOCKED",
        "entities": [{"entity_type": "WABA", "id": "1", "can_send_message": "BLOCKED"}],
    }

    data.update_waba("278990000057661", health_status=health)

    waba = data.waba("278990000057661")
    assert waba is not None
    assert msgspec.json.decode(msgspec.json.encode(waba.health_status)) == health
    assert waba.to_domain().can_send_message == "BLOCKED"
    with pytest.raises(
        FakeDataError,
        match=r"WABA `278990000057661`: Expected `array \| null`, got `str` - at `\$.health_status.entities`",
    ):
        data.update_waba("278990000057661", health_status={"entities": "none"})
