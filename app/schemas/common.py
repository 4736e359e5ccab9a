"""Schemas of the API's own endpoints (index, health, versions) and of every error answer."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

VERSION_STATUSES = ("stable", "beta", "deprecated", "sunset", "planned")


class ErrorSchema(Schema):
    detail = fields.String(required=True, metadata={"description": "What went wrong, for people"})


class ValidationErrorSchema(ErrorSchema):
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages per invalid field"},
    )


class VersionInfoSchema(Schema):
    version = fields.String(required=True, metadata={"example": "v1"})
    release_date = fields.String(required=True, metadata={"description": "ISO 8601 date"})
    status = fields.String(required=True, validate=validate.OneOf(VERSION_STATUSES))
    breaking_changes = fields.List(fields.String(), required=True)
    deprecation_notice = fields.String(required=True, allow_none=True)
    sunset_date = fields.String(required=True, allow_none=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    message = fields.String(required=True)
    timestamp = fields.String(required=True, metadata={"description": "ISO 8601 UTC, ending in Z"})
    api_version = fields.String(required=True)
    version_info = fields.Nested(VersionInfoSchema, required=True)


class VersionsSchema(Schema):
    current_version = fields.String(required=True)
    available_versions = fields.List(fields.Nested(VersionInfoSchema), required=True)
    documentation_url = fields.String(required=True)
    support_contact = fields.String(required=True)


class WebSocketEndpointSchema(Schema):
    endpoint = fields.String(required=True)
    docs = fields.String(required=True)
    spec = fields.String(required=True)
    operations = fields.List(fields.String(), required=True)


class WebSocketsSchema(Schema):
    bars = fields.Nested(WebSocketEndpointSchema, required=True)


class ApiIndexSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    current_api_version = fields.String(required=True)
    documentation = fields.String(required=True)
    health = fields.String(required=True)
    versions = fields.String(required=True)
    datafeed = fields.String(required=True)
    udf = fields.String(required=True)
    websockets = fields.Nested(WebSocketsSchema, required=True)
