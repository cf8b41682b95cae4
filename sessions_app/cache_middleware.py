"""No page a signed-in user sees is kept by a browser or proxy cache.

Every page behind the login shows patient data or could (headers, names,
lists), so rather than mark views one by one, every response to a signed-in
user gets `Cache-Control: no-store` (ASVS 5.0 14.3.2): the back button on a
shared clinic computer after sign-out must not bring a record back.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Adds `Cache-Control: no-store` (and its companions) to every response for a signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read before the view runs: signing out turns request.user anonymous, and the
        # page that answered the signed-in request must not be cached either.
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        response = self.get_response(request)
        if signed_in:
            add_never_cache_headers(response)
        return response
