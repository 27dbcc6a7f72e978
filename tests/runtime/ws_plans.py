"""Driving a protocol's plan by hand, as a connection does, without a socket."""

from __future__ import annotations

from collections.abc import Callable

from cbt_server.runtime.ws_core import Fail, Plan, Send


def drive(plan: Plan, answer: Callable[[object], object] = lambda effect: None) -> list[object]:
    """Every effect of `plan`, in order; `answer` gives each effect's result or raises
    (but for sending a message or an error, which a connection does without failing)."""
    effects: list[object] = []
    result: object = None
    error: Exception | None = None
    while True:
        try:
            effect = plan.send(result) if error is None else plan.throw(error)
        except StopIteration:
            return effects
        effects.append(effect)
        result, error = None, None
        if isinstance(effect, Send | Fail):
            continue
        try:
            result = answer(effect)
        except Exception as failed:
            error = failed
