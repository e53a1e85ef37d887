"""``python -m assistants_proxy.simulator [--host H] [--port P] [--rate R] ...``"""

import argparse

from .app import serve
from .script import DEFAULT_REPLY_TOKENS


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Assistants API v2 simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second")
    parser.add_argument("--tokens", type=int, default=DEFAULT_REPLY_TOKENS, help="reply length")
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()
    serve(
        args.host,
        args.port,
        rate=args.rate,
        default_tokens=args.tokens,
        first_token_delay=args.first_token_delay,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )


if __name__ == "__main__":
    main()
