"""Tripwires for the third-party internals the project relies on.

Some modules reach past public APIs, for speed: they override private methods, read private
attributes, or replace methods of daphne, Twisted and autobahn classes. A release may change
any of that without notice, so those packages are pinned exactly in pyproject.toml, and the
tests here fail, naming the package, the version the code was written against and the module
that depends on it, when (a) the installed version is not the pinned one, or (b) a name or
signature relied on is gone or different. The pin is read from pyproject.toml, so the pin and
the tripwire cannot disagree.

The third-party code is tested here, not the project's modules: these checks fail before the
project's own tests would, with a message that names what to re-read.
"""

from __future__ import annotations

import importlib
import inspect
import json
import json.encoder
import re
import socket
import threading
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# Each package whose internals the project touches, and the project's files that touch them.
USERS = {
    "Django": "config/middleware.py, config/asgi_tuning.py, config/ws_origin.py",
    "asgiref": "config/asgi_tuning.py",
    "daphne": "config/daphne_nodelay.py, config/daphne_close.py",
    "Twisted": "config/daphne_nodelay.py",
    "autobahn": "config/daphne_nodelay.py, config/daphne_close.py",
    "httpcore": (
        "assistants_proxy/lean_http.py, assistants_proxy/lean_backend.py, "
        "assistants_proxy/lean_body.py"
    ),
    "httpx-sse": "assistants_proxy/sse.py",
    "redis": "chat/fanout/redis.py",
}
# The standard library is pinned by the interpreter: its checks name the Python written for.
STDLIB_USERS = {"json": "assistants_proxy/events.py, chat/fanout/runlog.py"}
WRITTEN_FOR_PYTHON = "3.11"


class Drift(AssertionError):
    """A relied-on third-party name, signature or version is not what the code expects."""


def exact_pins(path: Path = PYPROJECT) -> dict[str, str]:
    """{canonical name: version} for every `name==version` runtime dependency."""
    pins: dict[str, str] = {}
    for line in tomllib.loads(path.read_text("utf-8"))["project"]["dependencies"]:
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pins[canonicalize_name(requirement.name)] = specs[0].version
    return pins


PINS = exact_pins()


def written_against(package: str) -> str:
    if package in STDLIB_USERS:
        return f"Python {WRITTEN_FOR_PYTHON}'s {package}"
    return f"{package}=={PINS.get(canonicalize_name(package), '(no exact pin)')}"


def drift(package: str, problem: str) -> NoReturn:
    """Fail with what changed, what the code was written against, and where to look."""
    users = USERS.get(package) or STDLIB_USERS[package]
    raise Drift(
        f"{package}: {problem}. {users} was written against {written_against(package)}: "
        "re-read that code against the installed release before changing the pin in "
        "pyproject.toml (and this module)."
    )


def expect(ok: bool, package: str, problem: str) -> None:
    if not ok:
        drift(package, problem)


def lookup(dotted: str, package: str) -> Any:
    """The object at `dotted` (a module, then attributes): a vanished private module or name
    fails with the tripwire's message, not an ImportError or AttributeError."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for depth in range(split, len(parts)):
            if not hasattr(found, parts[depth]):
                drift(package, f"{'.'.join(parts[: depth + 1])} is gone")
            found = getattr(found, parts[depth])
        return found
    drift(package, f"{dotted} is gone")


def expect_version(package: str, installed: str | None = None) -> None:
    installed = installed or metadata.version(package)
    pinned = PINS.get(canonicalize_name(package))
    expect(pinned is not None, package, "pyproject.toml does not pin it exactly")
    expect(installed == pinned, package, f"{installed} is installed")


def expect_names(owner: object, names: Iterable[str], package: str) -> None:
    missing = [name for name in names if not hasattr(owner, name)]
    label = getattr(owner, "__qualname__", type(owner).__qualname__)
    expect(not missing, package, f"{label} has no {', '.join(missing)}")


def expect_params(dotted: str, params: list[str], package: str) -> None:
    found = list(inspect.signature(lookup(dotted, package)).parameters)
    problem = f"{dotted} takes ({', '.join(found)}), not ({', '.join(params)})"
    expect(found == params, package, problem)


def expect_uses(dotted: str, name: str, package: str) -> None:
    """The function's own code looks `name` up (an attribute or global) or holds it as a
    constant: the library still goes through what the project overrides or answers."""
    code = lookup(dotted, package).__code__
    problem = f"{dotted} no longer uses {name!r}"
    expect(name in code.co_names or name in code.co_consts, package, problem)


# -- the checks themselves -----------------------------------------------------------------


def test_the_checks_fail_loudly_for_a_version_a_name_or_a_signature() -> None:
    # Each check must be able to fail, with a message that says what to re-read.
    pin = re.escape(PINS["httpcore"])
    drift = rf"httpcore: 0\.0\.1 is installed\. assistants_proxy/lean_http.*=={pin}"
    with pytest.raises(Drift, match=drift):
        expect_version("httpcore", installed="0.0.1")
    with pytest.raises(Drift, match=r"httpx-sse: object has no _gone\. assistants_proxy/sse"):
        expect_names(object(), ["__class__", "_gone"], "httpx-sse")
    with pytest.raises(Drift, match=r"httpx-sse: httpx_sse\._decoders\.Gone is gone"):
        expect_params("httpx_sse._decoders.Gone.decode", ["self"], "httpx-sse")
    with pytest.raises(Drift, match=r"httpcore: httpcore\._gone is gone"):
        lookup("httpcore._gone.AsyncConnectionPool", "httpcore")
    with pytest.raises(Drift, match=r"Django: .*takes \(self, request\), not \(self\)\."):
        expect_params("django.utils.deprecation.MiddlewareMixin.__acall__", ["self"], "Django")
    with pytest.raises(Drift, match=r"json: json\.loads no longer uses 'nope'.*Python 3\.11"):
        expect_uses("json.loads", "nope", "json")


def test_the_pins_are_read_from_the_dependency_list(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["httpcore==1.2.3", "Twisted>=1", "a[b]==2"]\n')
    assert exact_pins(pyproject) == {"httpcore": "1.2.3", "a": "2"}


# -- (a) versions --------------------------------------------------------------------------


@pytest.mark.parametrize("package", sorted(USERS))
def test_the_installed_version_is_the_one_pinned(package: str) -> None:
    expect_version(package)


# -- (b) names and signatures --------------------------------------------------------------


def test_httpcore_pool_keeps_the_state_the_assignment_override_reads() -> None:
    pool_class = lookup("httpcore.AsyncConnectionPool", "httpcore")
    assign = "_assign_requests_to_connections"
    expect_params(f"httpcore.AsyncConnectionPool.{assign}", ["self"], "httpcore")
    expect_uses("httpcore.AsyncConnectionPool.handle_async_request", assign, "httpcore")
    expect_uses("httpcore._async.connection_pool.PoolByteStream.aclose", assign, "httpcore")
    expect_params("httpcore.AsyncConnectionPool.create_connection", ["self", "origin"], "httpcore")
    request_class = lookup("httpcore._async.connection_pool.AsyncPoolRequest", "httpcore")
    expect_names(request_class, ["is_queued", "assign_to_connection"], "httpcore")
    pool = pool_class(max_connections=3, max_keepalive_connections=2)
    expect_names(pool, ["_connections", "_requests"], "httpcore")
    expect(pool._connections == [] == pool._requests, "httpcore", "its queues are not lists")
    limits = (pool._max_connections, pool._max_keepalive_connections)
    expect(limits == (3, 2), "httpcore", f"_max_connections, _max_keepalive_... are {limits}")


def test_httpcore_asks_the_network_stream_whether_an_idle_connection_is_readable() -> None:
    # The lean backend's stream answers this, so a connection the server closed is dropped.
    has_expired = "httpcore._async.http11.AsyncHTTP11Connection.has_expired"
    expect_uses(has_expired, "is_readable", "httpcore")


def test_httpcore_reads_a_body_as_the_direct_reader_does() -> None:
    # lean_body reads what httpcore's HTTP/1.1 body reader reads, from the same attributes.
    http11 = "httpcore._async.http11"
    body_stream = f"{http11}.HTTP11ConnectionByteStream"
    expect_params(f"{body_stream}.__init__", ["self", "connection", "request"], "httpcore")
    expect_uses(f"{body_stream}.__init__", "_connection", "httpcore")
    expect_uses(f"{body_stream}.__aiter__", "_receive_response_body", "httpcore")
    receive = f"{http11}.AsyncHTTP11Connection._receive_event"
    for name in ("_h11_state", "next_event", "NEED_DATA", "_network_stream", "READ_NUM_BYTES"):
        expect_uses(receive, name, "httpcore")
    expect_uses(f"{http11}.AsyncHTTP11Connection._receive_response_body", "Data", "httpcore")
    pool_stream = "httpcore._async.connection_pool.PoolByteStream"
    expect_params(f"{pool_stream}.__init__", ["self", "stream", "pool_request", "pool"], "httpcore")
    stream = lookup(pool_stream, "httpcore")(iter(()), None, None)
    expect_names(stream, ["_stream"], "httpcore")
    connection = lookup(f"{http11}.AsyncHTTP11Connection", "httpcore")
    expect_names(connection, ["READ_NUM_BYTES"], "httpcore")


def test_httpx_sse_line_decoder_is_where_the_sse_module_imports_it() -> None:
    expect_params("httpx_sse._decoders.SSELineDecoder.decode", ["self", "text"], "httpx-sse")
    expect_params("httpx_sse._decoders.SSELineDecoder.flush", ["self"], "httpx-sse")
    decoder = lookup("httpx_sse._decoders.SSELineDecoder", "httpx-sse")()
    lines = decoder.decode("data: a\r\ndata: b\r")
    expect(lines == ["data: a"], "httpx-sse", f"decode gave {lines}")
    expect(decoder.trailing_cr is True, "httpx-sse", "a final CR is not held in trailing_cr")
    expect(decoder.flush() == ["data: b"], "httpx-sse", "flush does not end the held line")


def test_daphne_methods_replaced_by_the_nodelay_module() -> None:
    # The replacements keep these signatures, so the checks hold whether or not
    # config.daphne_nodelay has been imported into this process.
    expect_params("daphne.http_protocol.HTTPFactory.buildProtocol", ["self", "addr"], "daphne")
    expect_params("daphne.http_protocol.WebRequest.__init__", ["self", "args", "kwargs"], "daphne")
    send = "daphne.ws_protocol.WebSocketProtocol.serverSend"
    expect_params(send, ["self", "content", "binary"], "daphne")


def test_daphne_closes_a_socket_through_server_close() -> None:
    # config/daphne_close.py replaces it, and sends RFC codes with autobahn's sendCloseFrame.
    expect_params("daphne.ws_protocol.WebSocketProtocol.serverClose", ["self", "code"], "daphne")
    expect_uses("daphne.ws_protocol.WebSocketProtocol.handle_reply", "serverClose", "daphne")
    frame = "autobahn.websocket.protocol.WebSocketProtocol.sendCloseFrame"
    expect_params(frame, ["self", "code", "reasonUtf8", "isReply"], "autobahn")
    # It also replaces WebSocketFactory.__init__ (keeping its signature) to set failByDrop.
    init = "daphne.ws_protocol.WebSocketFactory.__init__"
    expect_params(init, ["self", "server_class", "args", "kwargs"], "daphne")


def test_twisted_request_takes_the_form_parsing_switch() -> None:
    init = lookup("twisted.web.http.Request.__init__", "Twisted")
    params = inspect.signature(init).parameters
    expect("parsePOSTFormSubmission" in params, "Twisted", "Request() has no parsePOST...")


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two ends of a loopback TCP connection."""
    with closing(socket.create_server(("127.0.0.1", 0))) as listener:
        client = socket.create_connection(listener.getsockname()[:2])
        server, _ = listener.accept()
    with closing(client), closing(server):
        yield server, client


def test_twisted_transport_buffers_where_the_nodelay_writes_look(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    from twisted.internet import tcp
    from twisted.internet.protocol import Protocol
    from twisted.internet.testing import MemoryReactor

    near, far = tcp_pair
    # A reactor of its own: the global one would pre-empt the asyncio reactor daphne installs.
    # (Stand-ins for the port and reactor, which Twisted's annotations want real.)
    server: Any = tcp.Server
    transport = server(near, Protocol(), ("127.0.0.1", 1), None, 0, MemoryReactor())
    names = ["_tempDataLen", "dataBuffer", "offset", "connected", "disconnecting"]
    expect_names(transport, [*names, "_writeDisconnected", "TLS", "setTcpNoDelay"], "Twisted")
    state = (transport._tempDataLen, transport.dataBuffer, transport.offset, transport.TLS)
    expect(state == (0, b"", 0, False), "Twisted", f"a new transport's buffers are {state}")
    sent = transport.writeSomeData(b"ping")
    expect(sent == 4 and far.recv(4) == b"ping", "Twisted", f"writeSomeData gave {sent!r}")


def test_autobahn_protocol_has_what_the_framed_send_checks() -> None:
    from daphne.ws_protocol import WebSocketFactory
    from twisted.internet.testing import MemoryReactorClock

    open_state = lookup("autobahn.websocket.protocol.WebSocketProtocol.STATE_OPEN", "autobahn")
    expect(open_state == 3, "autobahn", f"STATE_OPEN is {open_state!r}")  # RFC 6455's OPEN
    factory = WebSocketFactory(None, reactor=MemoryReactorClock())
    # No timer: nothing runs later. failByDrop as config/daphne_close.py sets it.
    factory.setProtocolOptions(openHandshakeTimeout=0, failByDrop=False)
    expect_names(factory, ["maskServerFrames"], "autobahn")
    protocol = factory.buildProtocol(None)
    protocol.peer = "tcp:127.0.0.1:1"
    protocol._connectionMade()  # what sets a connection's state up
    names = ["state", "_perMessageCompress", "send_queue", "logFrames", "trackedTimings"]
    expect_names(protocol, [*names, "autoFragmentSize", "maxMessagePayloadSize"], "autobahn")
    expect(protocol.failByDrop is False, "autobahn", "the factory's failByDrop is not copied")


def test_django_middleware_mixin_dispatches_to_acall() -> None:
    mixin = "django.utils.deprecation.MiddlewareMixin"
    expect_params(f"{mixin}.__acall__", ["self", "request"], "Django")
    expect_uses(f"{mixin}.__call__", "__acall__", "Django")

    async def get_response(request: Any) -> None:
        return None

    instance = lookup(mixin, "Django")(get_response)
    expect(getattr(instance, "async_mode", None) is True, "Django", "async_mode is not set")


def test_django_caches_the_async_user_and_messages_where_the_middleware_looks() -> None:
    expect_uses("django.contrib.auth.middleware.auser", "_acached_user", "Django")
    process = "django.contrib.messages.middleware.MessageMiddleware.process_request"
    expect_uses(process, "_messages", "Django")
    storage_init = "django.contrib.messages.storage.base.BaseStorage.__init__"
    expect_uses(storage_init, "used", "Django")
    expect_uses(storage_init, "added_new", "Django")


def test_django_csrf_verifies_an_origin_from_the_request_alone() -> None:
    # config/ws_origin.py hands it a request built from a WebSocket handshake.
    verify = "django.middleware.csrf.CsrfViewMiddleware._origin_verified"
    expect_params(verify, ["self", "request"], "Django")
    expect_uses(verify, "get_host", "Django")
    expect_uses(verify, "is_secure", "Django")
    expect_uses(verify, "allowed_origins_exact", "Django")
    expect_uses(verify, "allowed_origin_subdomains", "Django")


def test_django_asgi_handler_listens_for_the_disconnect_in_a_method() -> None:
    handler = "django.core.handlers.asgi.ASGIHandler"
    expect_params(f"{handler}.listen_for_disconnect", ["self", "receive"], "Django")
    expect_uses(f"{handler}.handle", "listen_for_disconnect", "Django")


async def test_asgiref_nested_thread_sensitive_context_uses_the_outer_executor() -> None:
    from asgiref.sync import ThreadSensitiveContext, sync_to_async

    params = inspect.signature(ThreadSensitiveContext).parameters
    expect("executor" in params, "asgiref", "ThreadSensitiveContext() takes no executor")
    with ThreadPoolExecutor(1, thread_name_prefix="outer-lane") as executor:
        # Django's own context, inside config.asgi_tuning's, must run on its executor.
        async with ThreadSensitiveContext(executor=executor), ThreadSensitiveContext():
            name = await sync_to_async(lambda: threading.current_thread().name)()
    expect(name.startswith("outer-lane"), "asgiref", f"a nested context ran on {name}")


def test_redis_connection_packs_every_command_through_pack_command() -> None:
    connection = "redis.asyncio.connection.Connection"
    expect_params(f"{connection}.pack_command", ["self", "args"], "redis")
    expect_uses(f"{connection}.send_command", "pack_command", "redis")
    expect_uses(f"{connection}.pack_commands", "pack_command", "redis")


def test_json_scanner_called_directly_returns_the_value_and_its_end() -> None:
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    result = scan('{"a": [1, "b"]} ', 0)
    expect(result == ({"a": [1, "b"]}, 15), "json", f"scan_once gave {result!r}")
    with pytest.raises(StopIteration) as stopped:
        scan("{} x", 3)  # no value starts here: events.py turns this into a JSONDecodeError
    expect(stopped.value.value == 3, "json", "StopIteration does not carry the index")


def test_json_c_encoder_takes_the_nine_arguments_the_run_log_passes() -> None:
    make = lookup("json.encoder.c_make_encoder", "json")
    expect(make is not None, "json", "json.encoder.c_make_encoder is None (no C accelerator)")
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    args = (None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False)
    chunks = make(*args, False, True)
    value = {"é": [1, 2.5, None, "x\n"]}
    encoded = "".join(chunks(value, 0))
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    expect(encoded == expected, "json", f"c_make_encoder gave {encoded!r}")
    with pytest.raises(TypeError):
        make(*args, False)  # eight: the arity is still checked, so a change shows
