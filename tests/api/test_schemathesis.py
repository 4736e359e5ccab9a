"""Schemathesis against a live `python -m app`: every documented operation, valid and invalid input."""

# The server runs as a subprocess on a free local port for the whole module. Its log (warnings and errors,
# the traceback of any 500 included) goes to this process's stderr, so pytest shows it with a failure.

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from app.main import create_app
from app.paths import OPENAPI_PATH
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


@parametrize
def test_api_conforms_to_its_document(case: schemathesis.Case, live_server: str) -> None:
    """No 5xx, only documented statuses, content types and bodies; invalid input refused, valid accepted."""
    response = case.call(base_url=live_server)
    # A request target over aiohttp's line limit gets a plain-text 400 from its HTTP parser, before any
    # application code runs. URL length is not something a Swagger 2.0 document can bound, and every HTTP
    # server has such a limit, so these cases are outside what the document promises (only they are skipped).
    hypothesis.assume(not refused_by_http_parser(response))
    case.validate_response(response, transport_kwargs={"base_url": live_server})
