"""Labels for stages and roles, and the member's socket ticket; pure
lookups and signing, no queries."""

from django import template

from jams.models import STAGE_LABELS, Role
from jams.phases import Stage
from jams.selectors import JamContext
from jams.tickets import ticket_issue

register = template.Library()


@register.filter
def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(Stage(stage), stage))


@register.filter
def role_label(role: str | None) -> str:
    if not role:
        return ""
    return str(Role(role).label)


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key, "")


@register.simple_tag
def socket_ticket(ctx: JamContext) -> str:
    """The member's signed pass for the jam socket (jams/tickets.py)."""
    return ticket_issue(user_id=int(ctx.user.pk or 0), jam_id=ctx.jam.pk, role=ctx.role or "")
