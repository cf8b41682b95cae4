"""Role gates for views. Row-level scope is access.py's job; these only say
which kind of user a page is for, answering 403 to the others."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Allow only signed-in users whose role is one of `roles`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.role not in roles:
                raise PermissionDenied("This page is not for your role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required("therapist", "clinic_admin")
therapist_required = role_required("therapist")
clinic_admin_required = role_required("clinic_admin")
patient_required = role_required("patient")
