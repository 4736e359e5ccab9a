"""Schemathesis against a live `python -m app`: every documented operation, valid and invalid input."""

# The server runs as a subprocess on a free local port for the whole module. Its log (warnings and errors,
# the traceback of any 500 included) goes to this process's stderr, so pytest shows it with a failure.

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from app.main import create_app
from app.market.instruments import INSTRUMENTS
from app.market.resolutions import DAY, parse_resolution
from app.paths import OPENAPI_PATH
from app.schemas.fields import RESOLUTION_NAMES
from app.settings import load_settings
from tests.live_server import serving

# Where aiohttp-apispec keeps the generated document on the application.
APISPEC_DOCUMENT = "swagger_dict"
# aiohttp's default `max_line_size`: its HTTP parser answers a longer request target with a 400 itself.
AIOHTTP_MAX_LINE_SIZE = 8190
SEED = 20261125
MAX_EXAMPLES = 50
# Bars and UDF history refuse a range spanning more than MAX_BARS periods of the resolution. That bound
# ties `from`, `to` and `resolution` together, which Swagger 2.0 cannot express (the operations state it
# in their descriptions), so schema-valid requests may rightly get a 422 there.
CROSS_PARAMETER_LIMITED = ["/api/v1/datafeed/bars", "/api/v1/udf/history"]
# The operations whose success answers need a real instrument, how many real requests each gets, and
# how many of those must be 200s with a body (bars, for the bar operations) checked against the document.
SYMBOL_OPERATIONS = [
    "/api/v1/datafeed/resolve/{symbol}",
    "/api/v1/datafeed/bars",
    "/api/v1/udf/symbols",
    "/api/v1/udf/history",
]
REAL_EXAMPLES = 25
MIN_SUCCESSES = 12
SYMBOLS = [instrument.symbol for instrument in INSTRUMENTS]
# The query parameters of a bar window, per operation.
WINDOWS = {"/api/v1/datafeed/bars": ("from_time", "to_time"), "/api/v1/udf/history": ("from", "to")}
NOW = int(time.time())
# Every resolution name a client may send (aliases included) and what it stands for.
RESOLUTIONS = {name: resolution for name in RESOLUTION_NAMES if (resolution := parse_resolution(name))}


def schemathesis_config() -> SchemathesisConfig:
    """Reproducible, bounded generation of valid and invalid requests, checked by every built-in check."""
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "request-timeout": 10,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
            },
            "checks": {
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "response_headers_conformance": {"enabled": True},
                "negative_data_rejection": {"enabled": True},
                "positive_data_acceptance": {"enabled": True},
            },
            "operations": [
                {
                    "include-path": CROSS_PARAMETER_LIMITED,
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """Base URL of the app served by `python -m app` on a real socket."""
    with serving({"BAR_BROADCASTER_ENABLED": "false", "LOG_LEVEL": "WARNING"}) as server:
        yield server.base_url


def app_document() -> dict[str, Any]:
    """The OpenAPI document the app factory builds (aiohttp-apispec builds it in place, at creation)."""
    app = create_app(load_settings({}))
    document: dict[str, Any] = json.loads(json.dumps(app[APISPEC_DOCUMENT]))
    return document


# Loaded when the module is collected, so each operation becomes a test of its own. (Loading it from the
# live server through `schemathesis.pytest.from_fixture` fails on pytest 9.2: schemathesis 4.32 sets the
# `Node._nodeid` attribute that pytest 9.2 replaced.) `test_live_server_serves_the_tested_document`
# proves the live server serves this very document.
DOCUMENT = app_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis_config())
parametrize: Callable[[Callable[..., None]], Callable[..., None]] = schema.parametrize()


def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """Half the valid requests for a symbol name a real instrument, so success answers are generated and checked.

    Random symbols are never instruments, so without this every valid request for one gets a 404. The
    choice hangs on the generated symbol (not on a random draw), so a run is reproducible. Generated times
    cluster near 0 (1970), long before any history, so such a request's window is moved to end now.
    """
    if case.meta is None or case.meta.generation.mode is not schemathesis.GenerationMode.POSITIVE:
        return case
    container = "path_parameters" if "{symbol}" in case.operation.path else "query"
    values = getattr(case, container) or {}
    symbol = values.get("symbol")
    digest = zlib.crc32(symbol.encode()) if isinstance(symbol, str) else 1
    # The other half keep their symbol, so the unknown-symbol answer is checked as well.
    if digest % 2:
        return case
    setattr(case, container, values | {"symbol": SYMBOLS[digest // 2 % len(SYMBOLS)]})
    start, end = WINDOWS.get(case.operation.path, ("", ""))
    query = case.query or {}
    if isinstance(query.get(start), int) and isinstance(query.get(end), int):
        shift = NOW - max(query[start], query[end])
        case.query = query | {start: max(0, query[start] + shift), end: max(0, query[end] + shift)}
    return case


schema.hook(map_case)


def test_live_server_serves_the_tested_document(live_server: str) -> None:
    """The document the cases are generated from is the one `python -m app` serves."""
    with urllib.request.urlopen(live_server + OPENAPI_PATH, timeout=10) as response:
        assert response.status == 200
        assert json.load(response) == DOCUMENT


def refused_by_http_parser(response: schemathesis.Response) -> bool:
    """Whether aiohttp's HTTP parser refused the request line as too long, before the app saw it."""
    sent = urlsplit(response.request.url)
    target = sent.path + (f"?{sent.query}" if sent.query else "")
    return bool(response.status_code == 400 and len(target) > AIOHTTP_MAX_LINE_SIZE)


def call_and_validate(case: schemathesis.Case, base_url: str) -> schemathesis.Response:
    """Send the case to the live server and run every check on its answer."""
    response = case.call(base_url=base_url)
    # A request target over aiohttp's line limit gets a plain-text 400 from its HTTP parser, before any
    # application code runs. URL length is not something a Swagger 2.0 document can bound, and every HTTP
    # server has such a limit, so these cases are outside what the document promises (only they are skipped).
    hypothesis.assume(not refused_by_http_parser(response))
    case.validate_response(response, transport_kwargs={"base_url": base_url})
    return response


@parametrize
def test_api_conforms_to_its_document(case: schemathesis.Case, live_server: str) -> None:
    """No 5xx, only documented statuses, content types and bodies; invalid input refused, valid accepted."""
    call_and_validate(case, live_server)


def real_request(path: str) -> st.SearchStrategy[dict[str, Any]]:
    """Requests a chart would make: a real instrument in any case and, for bars, a recent window."""
    symbols = st.sampled_from(SYMBOLS + [symbol.lower() for symbol in SYMBOLS])
    if path not in WINDOWS:
        location = "path_parameters" if "{symbol}" in path else "query"
        return st.fixed_dictionaries({location: st.fixed_dictionaries({"symbol": symbols})})
    start, end = WINDOWS[path]
    count = "count_back" if end == "to_time" else "countback"

    def query(symbol: str, resolution: str, to: int, periods: int, count_back: int) -> dict[str, Any]:
        span = periods * RESOLUTIONS[resolution].seconds
        return {"query": {"symbol": symbol, "resolution": resolution, start: to - span, end: to, count: count_back}}

    return st.builds(
        query,
        symbols,
        st.sampled_from(sorted(RESOLUTIONS)),
        st.integers(NOW - 40 * DAY, NOW + DAY),
        st.integers(0, 300),
        st.integers(0, 300),
    )


@pytest.mark.parametrize("path", SYMBOL_OPERATIONS)
def test_real_instruments_get_success_answers_that_match_the_document(path: str, live_server: str) -> None:
    """A chart's requests for real instruments get 200s whose bodies pass every check, the schema's included.

    `response_schema_conformance` validates each body against the document's schema for the 200 answer.
    Bar answers are counted only when they hold bars, so an empty list cannot stand in for the check.
    """
    operation = schema[path]["GET"]
    validated: Counter[str] = Counter()

    @hypothesis.settings(
        max_examples=REAL_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(request=real_request(path))
    def check(request: dict[str, Any]) -> None:
        response = call_and_validate(operation.Case(**request), live_server)
        assert response.status_code == 200, response.text
        body = response.json()
        validated["with bars" if path not in WINDOWS or body.get("bars") or body.get("t") else "empty"] += 1

    check()
    assert validated["with bars"] >= MIN_SUCCESSES, validated
