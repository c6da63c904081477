"""Labels for stages and roles; pure lookups, no queries."""

from django import template

from jams.models import STAGE_LABELS, Role
from jams.phases import Stage

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
