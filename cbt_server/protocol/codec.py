"""Parsing frames into typed messages and serializing messages into frames."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from cbt_server.protocol.base import (
    MAX_FRAME_BYTES,
    MAX_SEQ,
    ErrorCode,
    Message,
    ProtocolError,
)
from cbt_server.protocol.candidate import CandidateInbound, CandidateOutbound
from cbt_server.protocol.proctor import ProctorInbound, ProctorOutbound

T = TypeVar("T")

_CANDIDATE_IN: TypeAdapter[Any] = TypeAdapter(CandidateInbound)
_CANDIDATE_OUT: TypeAdapter[Any] = TypeAdapter(CandidateOutbound)
_PROCTOR_IN: TypeAdapter[Any] = TypeAdapter(ProctorInbound)
_PROCTOR_OUT: TypeAdapter[Any] = TypeAdapter(ProctorOutbound)


def _ref_seq(data: str | bytes) -> int | None:
    """The `seq` of a rejected frame, if it has a usable one (for the error's ref_seq)."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict):
        seq = obj.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq <= MAX_SEQ:
            return seq
    return None


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()) if part != "")
    # The first loc element is the union tag (the message type); drop it from the path.
    parts = loc.split(".", 1)
    field = parts[1] if len(parts) == 2 else ""
    text = str(error.get("msg", "invalid"))
    return f"{field}: {text}" if field else text


def _parse(adapter: TypeAdapter[Any], data: str | bytes, max_bytes: int) -> Message:
    if isinstance(data, bytes | bytearray):
        raise ProtocolError(ErrorCode.MALFORMED, "binary frames are not part of this protocol")
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"message of {size} bytes exceeds the limit of {max_bytes} bytes",
        )
    try:
        message: Message = adapter.validate_json(data, strict=True)
    except ValidationError as exc:
        raise _protocol_error(exc, data) from None
    if "\\u0000" in data and _holds_nul(json.loads(data)):
        # PostgreSQL cannot store NUL in text: refused here, not as a database outage.
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            "text must not contain NUL characters (\\u0000)",
            ref_seq=_ref_seq(data),
        )
    return message


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _protocol_error(exc: ValidationError, data: str) -> ProtocolError:
    errors = [dict(e) for e in exc.errors(include_url=False, include_input=False)]
    first: dict[str, Any] = errors[0] if errors else {"type": "invalid", "loc": ()}
    kind = first["type"]
    at_root = not first.get("loc")
    if kind == "json_invalid":
        return ProtocolError(ErrorCode.MALFORMED, "not valid JSON")
    if kind == "union_tag_not_found" or (at_root and kind.endswith("_type")):
        return ProtocolError(ErrorCode.MALFORMED, "a message is a JSON object with a 'type'")
    if kind == "union_tag_invalid":
        ctx: dict[str, Any] = dict(first.get("ctx") or {})
        return ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type {ctx.get('tag', '?')!s}",
            ref_seq=_ref_seq(data),
        )
    details = "; ".join(_describe(e) for e in errors[:5])
    return ProtocolError(ErrorCode.INVALID_MESSAGE, details, ref_seq=_ref_seq(data))


def parse_candidate(data: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> Message:
    """Parse a frame from a candidate's client; raise ProtocolError if it is not valid."""
    return _parse(_CANDIDATE_IN, data, max_bytes)


def parse_proctor(data: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> Message:
    """Parse a frame from a proctor console; raise ProtocolError if it is not valid."""
    return _parse(_PROCTOR_IN, data, max_bytes)


def parse_to_candidate(data: str | bytes) -> Message:
    """Parse a frame the server sends to a candidate (for clients and tests; no size cap)."""
    return _parse(_CANDIDATE_OUT, data, 1 << 30)


def parse_to_proctor(data: str | bytes) -> Message:
    """Parse a frame the server sends to a proctor console (for clients and tests)."""
    return _parse(_PROCTOR_OUT, data, 1 << 30)


def dump(message: Message) -> str:
    """Serialize a message to its JSON frame (every field present, nulls included)."""
    return message.model_dump_json()
