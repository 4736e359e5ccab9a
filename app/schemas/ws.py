"""Schemas of the WebSocket messages: they validate client frames and feed the AsyncAPI document."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.schemas.datafeed import BarSchema
from app.schemas.limits import MAX_SYMBOL_LENGTH


class EnvelopeSchema(Schema):
    """Every frame, both ways: `{"type": str, "payload": object}`."""

    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    payload = fields.Dict(load_default=dict, metadata={"description": "Depends on `type`"})


class BarsSubscriptionSchema(Schema):
    """Payload of `bars.subscribe` and `bars.unsubscribe`."""

    class Meta:
        unknown = EXCLUDE

    symbol = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_SYMBOL_LENGTH),
        metadata={"description": "Ticker, case-insensitive", "example": "AAPL"},
    )
    resolution = fields.String(
        load_default="1",
        validate=validate.Length(min=1, max=8),
        metadata={"description": "1, 5, 15, 30, 60, 240, 1D, 1W, 1M (aliases D, W, M); default 1", "example": "1"},
    )


class SubscriptionResponseSchema(Schema):
    """Payload of `bars.subscribe.response` and `bars.unsubscribe.response`."""

    status = fields.String(required=True, validate=validate.OneOf(("ok", "error")))
    symbol = fields.String(required=True)
    message = fields.String(required=True)
    topic = fields.String(required=True, metadata={"description": "bars:SYMBOL:RESOLUTION", "example": "bars:AAPL:1"})


class PingSchema(Schema):
    """Payload of `ping`: anything, or nothing."""

    class Meta:
        unknown = EXCLUDE


class PongSchema(Schema):
    """Payload of `pong`."""

    time = fields.Integer(required=True, metadata={"description": "Server time, UTC milliseconds"})


class BarUpdateSchema(Schema):
    """A `bars.update` frame: the forming bar of a topic (the envelope carries the topic)."""

    type = fields.String(required=True, validate=validate.Equal("bars.update"))
    topic = fields.String(required=True, metadata={"example": "bars:AAPL:1"})
    payload = fields.Nested(BarSchema, required=True)
