"""The client's IP address, the same for the lockout counter and the audit trail.

Behind a reverse proxy REMOTE_ADDR is the proxy's address, so every sign-in
would seem to come from one machine (one failed guess would count against
everyone's username+IP pair, and the audit trail would name the proxy).
`IPT_TRUSTED_PROXY_COUNT` says how many proxies of ours stand in front of the
app; each appends the address it received the request from to
X-Forwarded-For. The client's address is then the entry that many places from
the right. Entries further left were written by the client and are ignored:
anyone can send an X-Forwarded-For header.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, trusting only our own proxies; None if unknown.

    Always a valid IPv4/IPv6 address or None, so it can be stored in a
    GenericIPAddressField (an `inet` column on PostgreSQL) without an error.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    proxies = getattr(settings, "IPT_TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer hops than proxies: the request did not come through all of them
        # (a health check from inside, say); the direct peer is what we know.
        return remote
    return _valid_ip(hops[-proxies]) or remote
