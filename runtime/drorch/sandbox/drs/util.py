"""Small helpers shared by the DRS fake: ids, ISO 8601 strings, pagination."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import TypeVar

from moto.moto_api._internal import mock_random

from drorch.sandbox.drs.exceptions import ValidationException

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 1000


def new_id(prefix: str) -> str:
    """``prefix`` + 17 hex characters, the shape of every DRS id (s-, drsjob-, rct-, lct-)."""
    return prefix + mock_random.get_random_hex(17)


def stable_id(prefix: str, *parts: str, length: int = 17) -> str:
    """An id derived from ``parts`` (the same inputs always give the same id)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return prefix + digest[:length]


def iso(moment: datetime) -> str:
    """DRS's ISO8601DatetimeString: UTC, milliseconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationException(
            f"{field}: {text!r} is not an ISO 8601 date-time",
            reason="fieldValidationFailed",
            fields=[(field, "not an ISO 8601 date-time")],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration such as ``PT0S``, ``PT5M30S`` or ``P2DT3H``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if secs or not (days or hours or minutes):
        time_part += f"{secs}S"
    return text + ("T" + time_part if time_part else "")


def _encode_token(operation: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{operation}:{offset}".encode()).decode()


def paginate(
    items: list[T],
    *,
    operation: str,
    max_results: int | None,
    next_token: str | None,
    token_errors: bool = True,
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token for the next page (None on the last page).

    An unreadable token raises ValidationException when the operation declares
    it (``token_errors``); otherwise it reads as "no more results".
    """
    offset = 0
    if next_token:
        try:
            name, _, number = base64.urlsafe_b64decode(next_token.encode()).decode().partition(":")
            offset = int(number)
            if name != operation or offset < 0:
                raise ValueError(next_token)
        except ValueError:
            if token_errors:
                raise ValidationException(
                    "nextToken: the token is not valid for this request",
                    reason="fieldValidationFailed",
                    fields=[("nextToken", "not a token this operation returned")],
                ) from None
            return [], None
    size = max_results or DEFAULT_PAGE_SIZE
    page = items[offset : offset + size]
    following = offset + size
    return page, (_encode_token(operation, following) if following < len(items) else None)
