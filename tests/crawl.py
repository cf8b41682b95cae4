"""Walk the app as a signed-in user, and list every route the project defines.

Used by the audit-completeness and header tests: instead of a hand-kept list of
pages (which misses the page someone adds tomorrow), they follow every link a
persona can see, from their home page, over a record that has one of
everything, and check each page they reach. `routes()` introspects the URL
configuration so that a route no link reaches is noticed too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone

from sessions_app import measures
from sessions_app.models import AuditEvent, TherapySession
from tests import factories

# Never followed: signing out ends the walk, Django admin is for superusers and
# outside the app, static files are not pages.
SKIP_PREFIXES = ("/logout/", "/django-admin/", "/static/")
# Query-string variants of one route (filters, pages) visited at most this many times.
MAX_PER_ROUTE = 4


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name, its pattern text and the names of its path converters by kwarg."""

    name: str
    pattern: str
    converters: dict[str, str]


def routes() -> list[Route]:
    """Every named URL pattern of the project except Django admin's."""
    found: list[Route] = []

    def walk(patterns, prefix: str, converters: dict[str, str]) -> None:
        for entry in patterns:
            kinds = {**converters, **{k: type(v).__name__ for k, v in entry.pattern.converters.items()}}
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if text.startswith("django-admin/"):
                    continue
                walk(entry.url_patterns, text, kinds)
            elif isinstance(entry, URLPattern) and entry.name:
                found.append(Route(entry.name, text, kinds))

    walk(get_resolver().url_patterns, "", {})
    return found


@dataclass
class Visit:
    """One GET of the walk: what came back and which audit rows it wrote."""

    url: str
    route: str
    status: int
    events: list[AuditEvent]
    cache_control: str
    html: str
    body: str = ""  # any text response (HTML, CSV), streamed or not


@dataclass
class Walk:
    visits: list[Visit] = field(default_factory=list)

    def by_route(self) -> dict[str, list[Visit]]:
        grouped: dict[str, list[Visit]] = {}
        for visit in self.visits:
            grouped.setdefault(visit.route, []).append(visit)
        return grouped


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _internal(href: str, current: str) -> str | None:
    """The path (and query) of an in-app link, or None for other sites, mailto: and anchors."""
    href = urldefrag(href)[0]
    if not href:
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    if href.startswith("?"):
        return urlsplit(current).path + href
    if not href.startswith("/"):
        return None
    return href


def route_name(url: str) -> str | None:
    try:
        return resolve(urlsplit(url).path).url_name
    except Resolver404:
        return None


def walk(client: Client, start: str = "/") -> Walk:
    """GET every page reachable by links (and redirects) from `start`, once each."""
    result = Walk()
    queue: deque[str] = deque([start])
    seen: set[str] = set()
    per_route: dict[str, int] = {}
    while queue:
        url = queue.popleft()
        if url in seen or url.startswith(SKIP_PREFIXES):
            continue
        seen.add(url)
        name = route_name(url)
        if name is None:
            continue
        if per_route.get(name, 0) >= MAX_PER_ROUTE:
            continue
        per_route[name] = per_route.get(name, 0) + 1
        last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url)
        events = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id"))
        content_type = response.get("Content-Type", "")
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode() if content_type.startswith("text/") else ""
        html = body if content_type.startswith("text/html") else ""
        result.visits.append(
            Visit(url, name, response.status_code, events, response.get("Cache-Control", ""), html, body)
        )
        if response.status_code in (301, 302) and response.get("Location", "").startswith("/"):
            queue.append(response["Location"])
        if response.status_code == 200 and html:
            parser = _Links()
            parser.feed(html)
            for href in parser.hrefs:
                target = _internal(href, url)
                if target is not None and target not in seen:
                    queue.append(target)
    return result


def full_record(therapist, patient) -> dict:
    """One of everything under `patient`'s current course, so every page has something to show."""
    today = timezone.localdate()
    course = factories.CourseFactory(
        patient=patient,
        start_date=today - dt.timedelta(weeks=8),
        formulation="Formulation text",
        share_scores_with_patient=True,
    )
    person = factories.RelationshipEntryFactory(course=course, name="Sam")
    focus = factories.ProblemAreaFocusFactory(course=course, person=person)
    goal = factories.GoalFactory(focus=focus, visible_to_patient=True)
    signed = factories.TherapySessionFactory(
        course=course, number=1, date=course.start_date, task_type=TherapySession.TaskType.JOURNAL
    )
    factories.GoalReviewFactory(goal=goal, session=signed)
    factories.MeasureResponseFactory(
        course=course, session=signed, instrument=measures.Instrument.PHQ9, taken_on=course.start_date
    )
    signed.signed_at, signed.signed_by = timezone.now(), therapist
    signed.save()
    factories.SessionAddendumFactory(session=signed, author=therapist)
    draft = factories.TherapySessionFactory(course=course, number=2, date=course.start_date + dt.timedelta(7))
    factories.CancelledTherapySessionFactory(course=course, date=course.start_date + dt.timedelta(14))
    factories.ContractRevisionFactory(course=course, revised_by=therapist)
    factories.MeasureResponseFactory(
        course=course, instrument=measures.Instrument.GAD7, items=[1, 1, 1, 1, 1, 1, 1], taken_on=today
    )
    return {
        "course": course,
        "person": person,
        "focus": focus,
        "goal": goal,
        "signed": signed,
        "draft": draft,
    }


STYLE_ATTR = re.compile(r"""\sstyle\s*=""", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"""\son[a-z]+\s*=""", re.IGNORECASE)
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)


def inline_code(html: str) -> list[str]:
    """Inline scripts, style blocks, style="" attributes and on*="" handlers in HTML or template text."""
    found = [m.group(0) for m in INLINE_SCRIPT.finditer(html)]
    found += [m.group(0) for m in STYLE_BLOCK.finditer(html)]
    for tag in TAG.finditer(html):
        text = tag.group(0)
        if STYLE_ATTR.search(text) or HANDLER_ATTR.search(text):
            found.append(text)
    return found
