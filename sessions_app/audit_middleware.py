"""Denied access goes to the audit trail, and survives the request's transaction.

Every 403 and 404 answered to a signed-in user on one of the app's routes
(out-of-scope rows from `access.get_or_404`, wrong roles from
`decorators.role_required` and `access.require_treating_therapist`, CSRF
failures) leaves one DENIED row.

The row is written here, after the view has returned or raised, and never
inside the view: with `ATOMIC_REQUESTS` the view runs in a transaction that a
raised `Http404`/`PermissionDenied` rolls back, taking any row written inside
it along (the trap in reference/security.md). By the time the exception
reaches this middleware, that transaction has already ended.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from sessions_app import audit
from sessions_app.models import AuditEvent

DENIED_STATUSES = frozenset({403, 404})


class DeniedAccessAuditMiddleware:
    """Writes a DENIED audit row for each 403/404 a signed-in user gets from a resolved route."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            response.status_code in DENIED_STATUSES
            # Unknown URLs are not attempts on a record; only routes that resolved count.
            and getattr(request, "resolver_match", None) is not None
            and user is not None
            and user.is_authenticated
        ):
            exception = getattr(request, "_audit_denied_exception", None)
            audit.record(
                request,
                AuditEvent.Action.DENIED,
                object_type=getattr(exception, "object_type", ""),
                object_id=getattr(exception, "object_id", ""),
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Keep what was asked for; Django still turns the exception into the 403/404 page.
        if isinstance(exception, Http404 | PermissionDenied):
            request._audit_denied_exception = exception
