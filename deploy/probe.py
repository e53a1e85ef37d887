#!/usr/bin/env python3
"""The web containers' health probe, for an image without curl (python:3.11-slim).

    python deploy/probe.py http://127.0.0.1:8000/readyz   # exit 0 when it answers 200

It sends a Host header that Django accepts: the first usable name in ALLOWED_HOSTS (a
production .env names only the public host, so "127.0.0.1" would get a 400). Standard library
only; it gives up after TIMEOUT_SECONDS, under compose's 5 s probe timeout.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

TIMEOUT_SECONDS = 4.0


def probe_host(allowed_hosts: str) -> str:
    """A Host value that matches ALLOWED_HOSTS (comma-separated, as config/settings.py reads)."""
    for entry in (item.strip() for item in allowed_hosts.split(",")):
        if entry and entry != "*":
            # ".example.com" allows example.com and its subdomains.
            return entry.lstrip(".")
    return "localhost"


def probe_http(url: str, host: str) -> str | None:
    """None when `url` answers 200, else why not."""
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}: {exc.read()[:200]!r}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {exc}"
    return None if status == 200 else f"{url} answered {status}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="an HTTP URL that must answer 200")
    args = parser.parse_args(argv)
    failure = probe_http(args.url, probe_host(os.environ.get("ALLOWED_HOSTS", "")))
    if failure is not None:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
