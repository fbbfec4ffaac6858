"""The Prometheus endpoint: exposition text, escaping, and an HTTP side that survives garbage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from tacmesh.node.ops import metrics
from tacmesh.node.ops.metrics import Metric, MetricsServer, render, serve_metrics

Sample = tuple[str, dict[str, str], str]


def parse_exposition(text: str) -> tuple[dict[str, tuple[str, str]], list[Sample]]:
    """An independent reading of the text format: {name: (type, help)} and the samples."""
    families: dict[str, list[str]] = {}
    samples: list[Sample] = []
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_text = line[len("# HELP ") :].split(" ", 1)
            families.setdefault(name, ["", ""])[1] = _unescape(help_text)
        elif line.startswith("# TYPE "):
            name, kind = line[len("# TYPE ") :].split(" ")
            families.setdefault(name, ["", ""])[0] = kind
        else:
            samples.append(_parse_sample(line))
    return {k: (v[0], v[1]) for k, v in families.items()}, samples


def _parse_sample(line: str) -> Sample:
    if "{" not in line:
        name, value = line.split(" ")
        return name, {}, value
    name, rest = line.split("{", 1)
    labels: dict[str, str] = {}
    i = 0
    while rest[i] != "}":
        eq = rest.index("=", i)
        key = rest[i:eq]
        assert rest[eq + 1] == '"'
        j, raw = eq + 2, []
        while rest[j] != '"':
            if rest[j] == "\\":
                raw.append(rest[j : j + 2])
                j += 2
            else:
                raw.append(rest[j])
                j += 1
        labels[key] = _unescape("".join(raw))
        i = j + 1
        if rest[i] == ",":
            i += 1
    assert rest[i + 1] == " "
    return name, labels, rest[i + 2 :]


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            out.append({"\\": "\\", "n": "\n", '"': '"'}[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


TRICKY = 'say "hi"\\now\nnext'


def _sample_metrics() -> list[Metric]:
    return [
        Metric("tacmesh_neighbours", "gauge", "Neighbours with a bidirectional link.", [({}, 3)]),
        Metric(
            "tacmesh_frames_sent_total",
            "counter",
            "Frames sent, per interface.\nSecond line with a \\ backslash.",
            [({"interface": "wlan0"}, 12), ({"interface": TRICKY, "bearer": "udp"}, 1.5)],
        ),
        Metric(
            "tacmesh_link_loss_ratio",
            "gauge",
            "Odd values.",
            [({"n": "nan"}, float("nan")), ({"n": "+"}, float("inf")), ({"n": "-"}, -float("inf"))],
        ),
    ]


def test_render_is_parseable_and_escaped() -> None:
    families, samples = parse_exposition(render(_sample_metrics()))
    assert families == {
        "tacmesh_neighbours": ("gauge", "Neighbours with a bidirectional link."),
        "tacmesh_frames_sent_total": (
            "counter",
            "Frames sent, per interface.\nSecond line with a \\ backslash.",
        ),
        "tacmesh_link_loss_ratio": ("gauge", "Odd values."),
    }
    assert samples == [
        ("tacmesh_neighbours", {}, "3"),
        ("tacmesh_frames_sent_total", {"interface": "wlan0"}, "12"),
        ("tacmesh_frames_sent_total", {"interface": TRICKY, "bearer": "udp"}, "1.5"),
        ("tacmesh_link_loss_ratio", {"n": "nan"}, "NaN"),
        ("tacmesh_link_loss_ratio", {"n": "+"}, "+Inf"),
        ("tacmesh_link_loss_ratio", {"n": "-"}, "-Inf"),
    ]


def test_render_exact_text_for_escapes() -> None:
    text = render([Metric("tacmesh_x", "gauge", "a\\b\nc", [({"v": 'q"b\\n\n'}, 0.25)])])
    assert text == (
        '# HELP tacmesh_x a\\\\b\\nc\n# TYPE tacmesh_x gauge\ntacmesh_x{v="q\\"b\\\\n\\n"} 0.25\n'
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: Metric("neighbours", "gauge", "no prefix"),
        lambda: Metric("tacmesh_bad-name", "gauge", "dash"),
        lambda: Metric("tacmesh_x", "histogram", "kind"),  # type: ignore[arg-type]
        lambda: Metric("tacmesh_x", "gauge", "label", [({"bad-label": "v"}, 1)]),
        lambda: Metric("tacmesh_x", "gauge", "reserved", [({"__name__": "v"}, 1)]),
    ],
)
def test_invalid_metrics_are_refused(build: Callable[[], Metric]) -> None:
    with pytest.raises(ValueError):
        build()


def test_duplicate_family_is_refused() -> None:
    twice = [Metric("tacmesh_x", "gauge", "h"), Metric("tacmesh_x", "gauge", "h")]
    with pytest.raises(ValueError, match="twice"):
        render(twice)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.org", "", "fe80::1"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="metrics are local-only; scrape through an SSH tunnel"):
        MetricsServer(list, host, 0)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MetricsServer]:
    srv = await serve_metrics(_sample_metrics, port=0)
    try:
        yield srv
    finally:
        await srv.close()


async def _exchange(port: int, request: bytes, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        writer.write_eof()  # a payload without a blank line must still end the request
        return await asyncio.wait_for(reader.read(), timeout=5)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read().decode()


@pytest.mark.asyncio
async def test_scrape_with_a_real_http_client(server: MetricsServer) -> None:
    status, content_type, body = await asyncio.to_thread(
        _get, f"http://127.0.0.1:{server.port}/metrics"
    )
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    families, samples = parse_exposition(body)
    assert families["tacmesh_neighbours"][0] == "gauge"
    assert ("tacmesh_frames_sent_total", {"interface": TRICKY, "bearer": "udp"}, "1.5") in samples


@pytest.mark.asyncio
async def test_not_found_and_method_not_allowed(server: MetricsServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/")
    assert missing.value.code == 404
    posted = await _exchange(server.port, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _status(posted) == 405
    assert b"\r\nAllow: GET, HEAD\r\n" in posted


@pytest.mark.asyncio
async def test_head_sends_headers_only(server: MetricsServer) -> None:
    response = await _exchange(server.port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = response.partition(b"\r\n\r\n")
    assert _status(head) == 200
    assert body == b""
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) > 0


@pytest.mark.asyncio
async def test_query_string_is_ignored(server: MetricsServer) -> None:
    response = await _exchange(server.port, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")
    assert _status(response) == 200


@pytest.mark.asyncio
async def test_garbage_never_stops_the_server(server: MetricsServer) -> None:
    rng = random.Random(7)
    payloads = [
        b"",
        b"\r\n\r\n",
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"GET /metrics\r\n\r\n",
        b"GET /metrics SPDY/3\r\n\r\n",
        b"GET  /metrics HTTP/1.1\r\n\r\n",
        b"A" * (metrics.MAX_LINE * 2),
        b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n",
    ]
    payloads += [rng.randbytes(rng.randrange(1, 300)) + b"\r\n\r\n" for _ in range(30)]
    for payload in payloads:
        response = await _exchange(server.port, payload)
        assert response == b"" or _status(response) in (200, 400, 404, 405)
    assert _status(await _exchange(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")) == 200


@pytest.mark.asyncio
async def test_silent_client_is_dropped(
    server: MetricsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "REQUEST_TIMEOUT", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
    finally:
        writer.close()
        await writer.wait_closed()
    assert _status(await _exchange(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")) == 200


@pytest.mark.asyncio
async def test_failing_collect_is_a_500_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def flaky() -> list[Metric]:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RuntimeError("store locked")
        return _sample_metrics()

    srv = await serve_metrics(flaky, port=0)
    get = b"GET /metrics HTTP/1.1\r\n\r\n"
    try:
        with caplog.at_level(logging.DEBUG, logger="tacmesh.node.ops.metrics"):
            statuses = [_status(await _exchange(srv.port, get)) for _ in range(4)]
    finally:
        await srv.close()
    assert statuses == [500, 500, 500, 200]
    failures = [r for r in caplog.records if "collect() failed" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.ERROR, logging.DEBUG, logging.DEBUG]


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.asyncio
@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this host")
async def test_ipv6_loopback() -> None:
    srv = await serve_metrics(_sample_metrics, host="::1", port=0)
    try:
        response = await _exchange(srv.port, b"GET /metrics HTTP/1.1\r\n\r\n", host="::1")
        assert _status(response) == 200
    finally:
        await srv.close()


@pytest.mark.asyncio
async def test_port_before_start_is_an_error() -> None:
    srv = MetricsServer(list, "127.0.0.1", 0)
    with pytest.raises(RuntimeError):
        _ = srv.port
    await srv.close()


@pytest.mark.asyncio
async def test_localhost_binds_only_loopback() -> None:
    srv = await serve_metrics(_sample_metrics, host="localhost", port=0)
    try:
        # Port 0 may give 127.0.0.1 and ::1 different ports; "localhost" tries both.
        request = b"GET /metrics HTTP/1.1\r\n\r\n"
        assert _status(await _exchange(srv.port, request, host="localhost")) == 200
    finally:
        await srv.close()
