"""The API's own endpoints: index, health, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.api.errors import COMPONENTS
from app.api.openapi import operation
from app.paths import API_INDEX, API_PREFIX, CURRENT_API_VERSION, DOCS_PATH, HEALTH_PATH, VERSION_PATH, VERSIONS_PATH
from app.responses import json_response
from app.schemas.common import ApiIndexSchema, HealthSchema, VersionInfoSchema, VersionsSchema

SUPPORT_CONTACT = "support@trading-pro.example"

V1: dict[str, Any] = {
    "version": "v1",
    "release_date": "2026-11-25",
    "status": "stable",
    "breaking_changes": [],
    "deprecation_notice": None,
    "sunset_date": None,
}
V2: dict[str, Any] = {
    "version": "v2",
    "release_date": "2027-06-01",
    "status": "planned",
    "breaking_changes": ["Bar times in seconds everywhere", "Quotes as a WebSocket topic"],
    "deprecation_notice": None,
    "sunset_date": None,
}

routes = web.RouteTableDef()


def utc_timestamp() -> str:
    """Now as ISO 8601 UTC with a Z suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@routes.get(API_PREFIX)
@operation(tag="meta", summary="API index", description="Where everything is.", response=ApiIndexSchema)
async def index(request: web.Request) -> web.Response:
    return json_response(API_INDEX)


@routes.get(f"{API_PREFIX}/")
async def index_with_slash(request: web.Request) -> web.Response:
    """The API index again: the document lists it once, without the slash."""
    return json_response(API_INDEX)


@routes.get(HEALTH_PATH)
@operation(
    tag="meta",
    summary="Health check",
    description=(
        "Liveness with the API version: 200 while the process serves. `status` is `ok`, or `degraded` while a part "
        "of the server does not answer (the store of imported instruments), which `message` names; requests that "
        "need it get 503 meanwhile, and simulated instruments keep working."
    ),
    response=HealthSchema,
)
async def health(request: web.Request) -> web.Response:
    problems = [
        f"the {component.name} does not answer: {problem}"
        for component in request.app[COMPONENTS]
        if (problem := component.problem()) is not None
    ]
    message = "Trading Pro API is running"
    body: dict[str, Any] = {
        "status": "degraded" if problems else "ok",
        "message": f"{message}; degraded: {'; '.join(problems)}" if problems else message,
        "timestamp": utc_timestamp(),
        "api_version": CURRENT_API_VERSION,
        "version_info": V1,
    }
    return json_response(body)


@routes.get(VERSIONS_PATH)
@operation(tag="meta", summary="API versions", description="Every API version and its status.", response=VersionsSchema)
async def versions(request: web.Request) -> web.Response:
    body = {
        "current_version": CURRENT_API_VERSION,
        "available_versions": [V1, V2],
        "documentation_url": DOCS_PATH,
        "support_contact": SUPPORT_CONTACT,
    }
    return json_response(body)


@routes.get(VERSION_PATH)
@operation(tag="meta", summary="This API version", description="Status of v1.", response=VersionInfoSchema)
async def version(request: web.Request) -> web.Response:
    return json_response(V1)


async def add_version_header(request: web.Request, response: web.StreamResponse) -> None:
    """Every /api/v1 answer, errors and static files included, names the API version."""
    if request.path.startswith(API_PREFIX):
        response.headers["X-API-Version"] = CURRENT_API_VERSION
