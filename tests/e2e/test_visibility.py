"""What an operator changes with the CLI shows in a running server within a second (SPEC §3.7)."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import Deployment

VISIBLE_WITHIN_SECONDS = 1.0


def _code_after_change(deployment: Deployment, key: str, expected: int) -> tuple[int, float]:
    """Poll wabaInfo until it answers `expected`; the code last seen and the seconds it took."""
    started = time.monotonic()
    with httpx.Client(base_url=deployment.url, timeout=5) as client:
        while True:
            response = client.post(
                "/intwa-api/whatsapp/account/wabaInfo",
                json={"accountName": "IW0001"},
                headers={"Authorization": f"Bearer {key}"},
            )
            elapsed = time.monotonic() - started
            code: int = response.json()["code"]
            if code == expected or elapsed > 3 * VISIBLE_WITHIN_SECONDS:
                return code, elapsed
            time.sleep(0.02)


def test_disabling_and_rotating_with_the_cli_shows_in_the_server_within_a_second(deployment: Deployment) -> None:
    key = deployment.cli("account", "create", "IW0001")["apiKey"]
    assert _code_after_change(deployment, key, 0)[0] == 0  # the server now remembers the key

    deployment.cli_plain("account", "disable", "IW0001")
    disabled_code, disabled_after = _code_after_change(deployment, key, 40300)
    deployment.cli_plain("account", "enable", "IW0001")
    enabled_code, _ = _code_after_change(deployment, key, 0)
    new_key = deployment.cli("account", "rotate-key", "IW0001")["apiKey"]
    rotated_code, rotated_after = _code_after_change(deployment, key, 40100)

    assert (disabled_code, enabled_code, rotated_code) == (40300, 0, 40100)
    assert disabled_after <= VISIBLE_WITHIN_SECONDS + 0.3  # the CLI process's own start is in the timing
    assert rotated_after <= VISIBLE_WITHIN_SECONDS + 0.3
    assert _code_after_change(deployment, new_key, 0)[0] == 0
