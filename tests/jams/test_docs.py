"""The documentation shows the permission table the code enforces."""

from __future__ import annotations

from pathlib import Path

from jams.management.commands.permission_table import permission_table_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_security_doc_shows_the_current_permission_table() -> None:
    assert permission_table_markdown() in (DOCS / "security.md").read_text()
