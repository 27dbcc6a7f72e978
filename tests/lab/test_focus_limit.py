"""Focus reports on one connection: passed on to be stored, at most 20 a minute."""

from __future__ import annotations

import json

from cbt_server.protocol import ErrorCode
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate_protocol import FOCUS_PER_MINUTE
from cbt_server.runtime.ws_core import Fail
from tests.runtime.test_candidate_protocol import Clock, logged_in, protocol
from tests.runtime.ws_plans import drive

BLUR = json.dumps({"type": "focus", "event": "blur"})


def test_focus_reports_are_stored_at_most_twenty_a_minute() -> None:
    clock = Clock()
    proto = logged_in()
    proto.monotonic = clock
    stored = [e for e in drive(proto.receive([BLUR] * 25)) if isinstance(e, msg.Focus)]
    assert len(stored) == FOCUS_PER_MINUTE == 20
    clock.t += 30
    assert not [e for e in drive(proto.receive([BLUR])) if isinstance(e, msg.Focus)]
    clock.t += 31  # the first minute's reports are older than a minute now
    assert len([e for e in drive(proto.receive([BLUR] * 3)) if isinstance(e, msg.Focus)]) == 3


def test_a_focus_report_before_login_is_refused() -> None:
    (effect,) = drive(protocol().receive([BLUR]))
    assert isinstance(effect, Fail)
    assert getattr(effect.error, "code", None) == ErrorCode.HELLO_REQUIRED
