"""`X-Query-Count` response header, for the benchmark only.

Enabled by `IPT_BENCH_QUERY_COUNT=true` (see settings): the benchmark reads
how many SQL queries each page ran from the production server itself, with
DEBUG off. It counts through a connection execute wrapper, so it costs a
function call per query and records no SQL text.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse

HEADER = "X-Query-Count"


class QueryCountHeaderMiddleware:
    """Adds the number of queries the request ran (every database alias) as a header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counter(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        response[HEADER] = str(count)
        return response
