"""The address a request came from, for throttling log-ins and sign-ups by address.

Behind nginx, the TCP peer is nginx. Each proxy appends to X-Forwarded-For the address it got
the request from, and a client may send the header too, with any addresses in it: only the
entries the operator's own proxies appended can be believed. With TRUSTED_PROXY_HOPS=N (the
number of proxies in front of the app that append to the header: 1 for nginx, 2 with a TLS
terminator in front of it) the client is the N-th entry from the right. With 0, nothing is in
front: the TCP peer.

REMOTE_ADDR is no help behind a proxy: daphne's --proxy-headers sets it to the header's first
entry, the one a client can write.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [address.strip() for address in forwarded.split(",") if address.strip()]
    if hops and len(chain) >= hops:
        return chain[-hops]
    return str(request.META.get("REMOTE_ADDR", ""))
