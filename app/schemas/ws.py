"""Schemas of the WebSocket messages: they validate client frames and feed the AsyncAPI document."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.schemas.datafeed import BarSchema
from app.schemas.limits import MAX_SYMBOL_LENGTH, MAX_TIMESTAMP

# Most bars a `since` may ask the server to replay; further back is what /bars is for.
MAX_REPLAY_BARS = 1000


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
    since = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(min=0, max=MAX_TIMESTAMP * 1000),
        metadata={
            "description": (
                f"`bars.subscribe` only, optional: the `time` (UTC ms, 0 to {MAX_TIMESTAMP * 1000}) of the newest "
                "bar the client holds. "
                "Every bar of the topic with `time >= since` is sent first, in ascending time, closed bars "
                f"with their final values; more than {MAX_REPLAY_BARS} such bars: status error (use /bars)"
            ),
            "example": 1767225600000,
        },
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
    """A `bars.update` frame: a bar of a topic, forming or closed (the envelope carries the topic)."""

    type = fields.String(required=True, validate=validate.Equal("bars.update"))
    topic = fields.String(required=True, metadata={"example": "bars:AAPL:1"})
    payload = fields.Nested(BarSchema, required=True)
