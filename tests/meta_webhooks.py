"""Real management webhooks as Meta and public client libraries publish them (`tests/fixtures/meta_webhooks/`).

Each file is one whole notification; its README names the source of every file and what was changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

META_WEBHOOKS = Path(__file__).parent / "fixtures" / "meta_webhooks"


def names() -> tuple[str, ...]:
    """Every fixture's name (its file name without `.json`), sorted."""
    return tuple(sorted(path.stem for path in META_WEBHOOKS.glob("*.json")))


def load(name: str) -> bytes:
    """A fixture, byte for byte as stored: what a webhook post would carry as its body."""
    path = META_WEBHOOKS / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no Meta webhook fixture named {name!r}")
    return path.read_bytes()


def waba_ids(name: str) -> tuple[str, ...]:
    """The WABA each change of the fixture concerns, in order.

    Partner events name the customer's WABA in `value.waba_info.waba_id` (their `entry[].id` is the partner's
    business); every other change concerns the WABA of its entry. Read from the raw JSON, not the product's decoder.
    """
    document: dict[str, Any] = json.loads(load(name))
    found: list[str] = []
    for entry in document["entry"]:
        for change in entry["changes"]:
            value = change.get("value")
            waba_info = value.get("waba_info") if isinstance(value, dict) else None
            partner_waba = waba_info.get("waba_id") if isinstance(waba_info, dict) else None
            found.append(partner_waba if isinstance(partner_waba, str) and partner_waba else str(entry["id"]))
    return tuple(found)
