"""The OSRM table adapter against a local fake server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pipelines.osrm import OsrmTableProvider, TravelServiceError

# Two points in Shanghai about 1.11 km apart along a meridian (0.01 degree of latitude).
POINTS = [(31.23, 121.47), (31.24, 121.47)]


class _FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/<profile>/<coords> with a fixed table; 'gap' leaves a pair unroutable."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        _, _, _, profile, coords = url.path.split("/")
        size = len(coords.split(";"))
        assert parse_qs(url.query)["annotations"] == ["duration,distance"]
        durations = [[0.0 if i == j else 60.4 for j in range(size)] for i in range(size)]
        distances = [[0.0 if i == j else 500.6 for j in range(size)] for i in range(size)]
        if profile == "gap":
            durations[0][1] = None  # type: ignore[call-overload]
        body = json.dumps({"code": "Ok", "durations": durations, "distances": distances})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def osrm_url() -> Iterator[str]:
    """A local fake OSRM server on a free port, for the duration of this module."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_is_rounded_to_integers(osrm_url: str) -> None:
    with httpx.Client(base_url=osrm_url, timeout=5) as client:
        matrices = OsrmTableProvider(client).matrices(POINTS, "bike", hour=8)
    assert matrices.duration.tolist() == [[0, 61], [61, 0]]
    assert matrices.distance.tolist() == [[0, 501], [501, 0]]


def test_osrm_unroutable_pair_is_an_error(osrm_url: str) -> None:
    with (
        httpx.Client(base_url=osrm_url, timeout=5) as client,
        pytest.raises(TravelServiceError, match="no route from point 0 to point 1"),
    ):
        OsrmTableProvider(client, {"bike": "gap"}).matrices(POINTS, "bike", hour=8)


def test_osrm_unreachable_service_is_an_error() -> None:
    with (
        httpx.Client(base_url="http://127.0.0.1:9", timeout=1) as client,
        pytest.raises(TravelServiceError, match="failed"),
    ):
        OsrmTableProvider(client).matrices(POINTS, "van", hour=8)
