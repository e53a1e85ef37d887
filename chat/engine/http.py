"""HTTP clients for upstream calls.

Building an `httpx.AsyncClient` loads the CA bundle into a new SSL context, about 25 ms of CPU:
paid per run, it was most of the delay before a reply's first token. The context is built
once per process and shared; clients stay per run, so each lives in the event loop it is
used in.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def upstream_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=ssl_context())
