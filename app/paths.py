"""Neutral ground: the API's name, version and every public path, so no room imports another for them."""

from __future__ import annotations

from typing import Any

API_TITLE = "Trading Pro API"
# The OpenAPI `info.version` of this document (semantic version of the v1 interface).
API_VERSION = "1.0.0"
# The interface version in paths and in the `X-API-Version` header.
CURRENT_API_VERSION = "v1"
API_PREFIX = f"/api/{CURRENT_API_VERSION}"

HEALTH_PATH = f"{API_PREFIX}/health"
VERSIONS_PATH = f"{API_PREFIX}/versions"
VERSION_PATH = f"{API_PREFIX}/version"
DATAFEED_PREFIX = f"{API_PREFIX}/datafeed"
UDF_PREFIX = f"{API_PREFIX}/udf"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
DOCS_PATH = f"{API_PREFIX}/docs"
WS_PATH = f"{API_PREFIX}/ws"
ASYNCAPI_JSON_PATH = f"{WS_PATH}/asyncapi.json"
ASYNCAPI_PAGE_PATH = f"{WS_PATH}/asyncapi"

# `GET /api/v1` and `GET /` with `Accept: application/json`: where everything is.
API_INDEX: dict[str, Any] = {
    "name": API_TITLE,
    "version": API_VERSION,
    "current_api_version": CURRENT_API_VERSION,
    "documentation": DOCS_PATH,
    "health": HEALTH_PATH,
    "versions": VERSIONS_PATH,
    "datafeed": DATAFEED_PREFIX,
    "udf": UDF_PREFIX,
    "websockets": {
        "bars": {
            "endpoint": WS_PATH,
            "docs": ASYNCAPI_PAGE_PATH,
            "spec": ASYNCAPI_JSON_PATH,
            "operations": ["bars.subscribe", "bars.unsubscribe", "bars.update", "ping"],
        }
    },
}
