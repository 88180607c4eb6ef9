"""Request and response bodies of the HTTP API (API.md), one model per shape.

Requests forbid fields they do not know (a misspelt ``quantitiy`` is a 422
naming it, not a line silently ordered without it) and take quantities as
strict integers (``"2"`` and ``2.5`` are refused). Times are ISO 8601 with
an offset (UTC); quantities are integers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
)

from ops import OrderPosition, PartOrder, order_json

Id = Annotated[str, Field(min_length=1, max_length=64)]
#: A time written as ``datetime.isoformat()`` (``+00:00``, as the stored orders are),
#: not pydantic's ``Z``: a replayed body and a fresh one must be byte-for-byte alike.
Timestamp = Annotated[
    datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
]


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text: pydantic alone would also take ``1700000000`` as a Unix time."""
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be an ISO 8601 time with an offset, e.g. 2026-12-06T10:42:00+08:00")
    return value


#: A time a client sends: ISO 8601 text with an offset (``Z`` or ``+08:00``).
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderLineIn(_Request):
    """A line as a store system asks for it."""

    sku: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=999)]


class OrderCreate(_Request):
    """``POST /v1/stores/{store_id}/orders``: 1-50 lines, all reserved or none."""

    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=50)]
    vehicle_model_id: Id | None = None
    reference: Annotated[str, Field(max_length=200)] | None = None


class CancelRequest(_Request):
    """``POST .../orders/{order_id}/cancel``: an optional reason, kept in the history."""

    reason: Annotated[str, Field(max_length=500)] | None = None


class OrderStepRequest(_Request):
    """``POST .../orders/{order_id}/dispatch`` or ``/deliver``: when it happened, and why."""

    at: Annotated[
        IsoTime | None,
        Field(
            description=(
                "when the order left the warehouse or was handed over (default: now); "
                "not before its previous status change, at most 5 minutes ahead of the "
                "server's clock"
            ),
            examples=["2026-12-06T10:42:00+08:00"],
        ),
    ] = None
    reason: Annotated[str, Field(max_length=500)] | None = None


class ReturnCreate(_Request):
    """``POST /v1/stores/{store_id}/returns``: units of one SKU of a delivered order."""

    order_id: Id
    sku: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=999)]
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class ReturnPublic(BaseModel):
    """A stored return."""

    return_id: str
    order_id: str
    store_id: str
    sku: str
    quantity: int
    reason: str
    created_at: Timestamp


class WarehouseAlternative(BaseModel):
    """Another warehouse in reach of the store that has the part."""

    kind: Literal["warehouse"] = "warehouse"
    warehouse_id: str
    available: int
    deliver_by: Timestamp
    promise_minutes: int


class ArrivalAlternative(BaseModel):
    """The next released line-haul arrival of the part into the store's own warehouse."""

    kind: Literal["arrival"] = "arrival"
    warehouse_id: str
    transfer_id: str
    arrives_on: date
    quantity: int


class AvailabilityItem(BaseModel):
    """One SKU at the store's own warehouse; a promise only when ``available`` > 0."""

    sku: str
    warehouse_id: str
    available: int
    deliver_by: Timestamp | None
    promise_minutes: int | None
    alternative: Annotated[
        WarehouseAlternative | ArrivalAlternative | None, Field(discriminator="kind")
    ] = None


class AvailabilityPublic(BaseModel):
    """``GET /v1/stores/{store_id}/availability``."""

    store_id: str
    plan_run_id: str
    items: list[AvailabilityItem]


class FitmentQuery(BaseModel):
    """``GET /v1/fitment``'s query: the model, and optionally a category, a store, the car's
    mileage and age."""

    vehicle_model_id: Id
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    store_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="adds this store's availability to every part"
    )
    mileage_km: Annotated[int, Field(ge=0, le=2_000_000)] | None = None
    age_months: Annotated[int, Field(ge=0, le=600)] | None = None


class VehicleModelPublic(BaseModel):
    """A vehicle model of the catalogue (``year_to`` null: still built)."""

    vehicle_model_id: str
    make: str
    model: str
    powertrain: str
    year_from: int
    year_to: int | None
    segment: str


class FittingPart(BaseModel):
    """A part that fits: ``quantity`` at ``position``; availability when a store was named."""

    sku: str
    name: str
    category: str
    part_type: str
    brand: str
    position: str
    quantity: int
    availability: AvailabilityItem | None


class DueService(BaseModel):
    """A part type due: the vehicle is within 10 % of an interval of a service point."""

    part_type: str
    interval_km: int | None
    interval_months: int | None
    service_km: int | None
    service_months: int | None
    due_by: list[Literal["km", "months"]]
    skus: list[str]


class MaintenancePublic(BaseModel):
    """What the schedule says is due at this mileage and age."""

    mileage_km: int | None
    age_months: int | None
    due: list[DueService]


class FitmentPublic(BaseModel):
    """``GET /v1/fitment``."""

    vehicle: VehicleModelPublic
    category: str | None
    store_id: str | None
    plan_run_id: str
    parts: list[FittingPart]
    maintenance: MaintenancePublic | None


class OrderLinePublic(BaseModel):
    """A stored line: where it comes from and by when."""

    line_no: int
    sku: str
    quantity: int
    warehouse_id: str
    deliver_by: Timestamp


class StatusChangePublic(BaseModel):
    """One step of an order's history."""

    status: str
    changed_at: Timestamp
    changed_by: str
    reason: str | None


class OrderPublic(BaseModel):
    """An order as answered by every order endpoint."""

    order_id: str
    store_id: str
    status: Literal["confirmed", "cancelled", "dispatched", "delivered"]
    created_at: Timestamp
    vehicle_model_id: str | None
    reference: str | None
    lines: list[OrderLinePublic]
    status_history: list[StatusChangePublic]


class OrderList(BaseModel):
    """A page of a store's orders, newest first."""

    items: list[OrderPublic]
    next_cursor: str | None


def order_public(order: PartOrder) -> dict[str, Any]:
    """The JSON of :class:`OrderPublic` for an order (what is stored for replays, too)."""
    return {
        **order_json(order),
        "status_history": [
            {
                "status": change.status,
                "changed_at": change.changed_at.isoformat(),
                "changed_by": change.changed_by,
                "reason": change.reason,
            }
            for change in order.history
        ],
    }


def encode_cursor(position: OrderPosition) -> str:
    """An opaque cursor: base64url (unpadded) of ``["<created_at ISO>", "<order_id>"]``."""
    raw = json.dumps([position.created_at.isoformat(), position.order_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> OrderPosition:
    """The position a cursor names.

    Raises
    ------
    ValueError
        Not a cursor this API gave out.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, order_id = json.loads(raw)
        return OrderPosition(datetime.fromisoformat(created_at), str(order_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError("not a cursor this API gave out; pass next_cursor back as it is") from None


def encode_key_cursor(key: str) -> str:
    """An opaque cursor over a list keyed by one id: base64url (unpadded) of ``["<key>"]``."""
    raw = json.dumps([key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str) -> str:
    """The key a cursor of :func:`encode_key_cursor` names.

    Raises
    ------
    ValueError
        Not a cursor this API gave out.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        (key,) = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError("not a cursor this API gave out; pass next_cursor back as it is") from None
    if not isinstance(key, str):
        raise ValueError("not a cursor this API gave out; pass next_cursor back as it is")
    return key
