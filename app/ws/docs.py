"""The AsyncAPI document and its offline HTML viewer."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from app.keys import SETTINGS
from app.paths import ASYNCAPI_JSON_PATH, ASYNCAPI_PAGE_PATH
from app.responses import json_response
from app.ws.asyncapi import asyncapi_document

routes = web.RouteTableDef()


@routes.get(ASYNCAPI_JSON_PATH)
async def asyncapi_json(request: web.Request) -> web.Response:
    """The document, naming the host the client reached us by."""
    return json_response(asyncapi_document(request.app[SETTINGS], request.host, request.secure))


@routes.get(ASYNCAPI_PAGE_PATH)
@aiohttp_jinja2.template("asyncapi.html")
async def asyncapi_page(request: web.Request) -> dict[str, str]:
    return {"spec_url": ASYNCAPI_JSON_PATH}
