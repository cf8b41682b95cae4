"""The clinic admin's emergency-access panel, as a tag any admin page can place."""

from __future__ import annotations

from django import template
from django.utils import timezone

from sessions_app import access

register = template.Library()

REVIEW_DAYS = 7
PANEL_LIMIT = 50


@register.inclusion_tag("clinic/_emergency_access.html", takes_context=True)
def emergency_access_panel(context: template.Context) -> dict:
    """Grants of the signed-in admin's clinic, running or from the last week (one query)."""
    user = context["request"].user
    now = timezone.now()
    grants = list(access.emergency_accesses_to_review(user, days=REVIEW_DAYS)[:PANEL_LIMIT])
    return {
        "grants": grants,
        "active_count": sum(1 for grant in grants if grant.expires_at > now),
        "now": now,
        "days": REVIEW_DAYS,
    }
