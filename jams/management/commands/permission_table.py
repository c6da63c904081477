"""Print the permission table (jams.rules.POLICY) as Markdown, for docs/security.md."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jams.models import Role
from jams.phases import Stage
from jams.rules import POLICY, Action

ABBREVIATIONS = {
    Stage.SETUP: "S",
    Stage.DISCUSSION: "D",
    Stage.CURATION: "C",
    Stage.VOTING: "V",
    Stage.CLOSED: "X",
    Stage.PUBLISHED: "P",
}


def permission_table_markdown() -> str:
    roles = list(Role)
    header = "| action | " + " | ".join(r.value for r in roles) + " |"
    lines = [header, "|" + "---|" * (len(roles) + 1)]
    for action in Action:
        rule = POLICY[action]
        cells = []
        for role in roles:
            if role not in rule.roles:
                cells.append("—")
                continue
            stages = rule.stages_for(role)
            cells.append(
                "all"
                if stages == frozenset(Stage)
                else "".join(ABBREVIATIONS[s] for s in Stage if s in stages)
            )
        lines.append(f"| `{action.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the role x stage x action permission table as Markdown."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(permission_table_markdown(), ending="")
