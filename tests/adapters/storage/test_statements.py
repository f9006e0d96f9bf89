"""The shared statements' `?` placeholders as PostgreSQL takes them: numbered once, at import."""

from __future__ import annotations

from intwa.adapters.storage.statements import numbered


def test_placeholders_are_numbered_in_order_and_a_repeated_argument_is_taken_twice() -> None:
    assert numbered("SELECT 1 FROM t WHERE a = ? AND b IN (?, ?)") == "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)"
    assert numbered("DELETE FROM w WHERE id = ? AND NOT EXISTS (SELECT 1 FROM b WHERE id = ?)") == (
        "DELETE FROM w WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM b WHERE id = $2)"
    )
    assert numbered("SELECT 1") == "SELECT 1"
