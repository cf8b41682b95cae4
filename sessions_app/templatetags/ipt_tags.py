"""Display helpers: labels for codes stored in annotations and JSON lists."""

from __future__ import annotations

from django import template

from sessions_app import ipt, measures

register = template.Library()


@register.filter
def phase_label(code: str | None) -> str:
    return ipt.Phase(code).label if code in ipt.Phase.values else ""


@register.filter
def area_label(code: str | None) -> str:
    return ipt.ProblemArea(code).label if code in ipt.ProblemArea.values else ""


@register.filter
def band_label(code: str | None) -> str:
    return measures.Band(code).label if code in measures.Band.values else ""


@register.filter
def technique_label(code: str) -> str:
    return ipt.Technique(code).label if code in ipt.Technique.values else code


@register.filter
def strategy_label(code: str) -> str:
    return ipt.strategy_label(code)
