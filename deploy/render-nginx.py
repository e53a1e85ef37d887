#!/usr/bin/env python3
"""Render deploy/nginx.conf.template into a complete nginx configuration.

    python deploy/render-nginx.py                  # the compose rendering, to stdout
    python deploy/render-nginx.py -o deploy/nginx.conf
    python deploy/render-nginx.py --listen 127.0.0.1:8080 \\
        --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 \\
        --static-root /srv/static --temp-dir /tmp/nginx

The defaults are docker-compose.yml's topology. Standard library only, so it runs anywhere
nginx does; the test harness imports `render` from it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().with_name("nginx.conf.template")
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
HEADER = "# Rendered from deploy/nginx.conf.template by deploy/render-nginx.py: edit that.\n"

COMPOSE_DEFAULTS = {
    "listen": "80",
    "upstreams": ["web1:8000", "web2:8000"],
    "static_root": "/srv/static",
    "temp_dir": "/var/cache/nginx",
}


def render(
    *,
    listen: str,
    upstreams: Sequence[str],
    static_root: str,
    temp_dir: str,
    template: str | None = None,
) -> str:
    """The template with every placeholder filled; ValueError when one is left or unknown."""
    if not upstreams:
        raise ValueError("at least one upstream is needed")
    values = {
        "LISTEN": listen,
        "UPSTREAMS": "\n".join(f"        server {address};" for address in upstreams),
        # alias wants exactly one trailing slash, which the template adds.
        "STATIC_ROOT": static_root.rstrip("/"),
        "TEMP_DIR": temp_dir.rstrip("/"),
    }
    text = template if template is not None else TEMPLATE.read_text()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"the template names an unknown placeholder {{{{{name}}}}}")
        return values[name]

    return HEADER + PLACEHOLDER.sub(fill, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default=COMPOSE_DEFAULTS["listen"], help="port or addr:port")
    parser.add_argument(
        "--upstream",
        action="append",
        dest="upstreams",
        help="a daphne host:port; repeat for each (default: web1:8000, web2:8000)",
    )
    parser.add_argument("--static-root", default=COMPOSE_DEFAULTS["static_root"])
    parser.add_argument("--temp-dir", default=COMPOSE_DEFAULTS["temp_dir"])
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = render(
        listen=args.listen,
        upstreams=args.upstreams or COMPOSE_DEFAULTS["upstreams"],
        static_root=args.static_root,
        temp_dir=args.temp_dir,
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
