"""The WebSocket protocol `cbt.v1`: typed messages, parsing and serialization.

See docs/protocol.md for the page a client author reads.
"""

from cbt_server.protocol.base import (
    MAX_FRAME_BYTES,
    SUBPROTOCOL,
    ErrorCode,
    Message,
    MessageType,
    ProtocolError,
)
from cbt_server.protocol.codec import (
    dump,
    parse_candidate,
    parse_proctor,
    parse_to_candidate,
    parse_to_proctor,
)

__all__ = [
    "MAX_FRAME_BYTES",
    "SUBPROTOCOL",
    "ErrorCode",
    "Message",
    "MessageType",
    "ProtocolError",
    "dump",
    "parse_candidate",
    "parse_proctor",
    "parse_to_candidate",
    "parse_to_proctor",
]
