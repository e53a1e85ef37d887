"""A plain Python library for Assistants API v2 event streams.

It owns SSE decoding (`sse`), the event types and their tolerant parsing (`events`), the
accumulator that folds deltas into snapshots (`accumulator`), the upstream client (`client`),
the offline simulator (`simulator`) and a CLI (`python -m assistants_proxy`). It imports
nothing from Django or from the `chat` app; a test keeps it that way.
"""
