"""Driving a protocol's plan by hand, as a connection does, without a socket."""

from __future__ import annotations

from collections.abc import Callable

from cbt_server.runtime.ws_core import Fail, Plan, Send


def drive(plan: Plan, answer: Callable[[object], object] = lambda effect: None) -> list[object]:
    """Every effect of `plan`, in order; `answer` gives each effect's result or raises
    (but for sending a message or an error, which a connection does without failing)."""
    effects: list[object] = []
    try:
        effect = next(plan)
        while True:
            effects.append(effect)
            if isinstance(effect, Send | Fail):
                effect = plan.send(None)
                continue
            try:
                result = answer(effect)
            except Exception as error:
                effect = plan.throw(error)
            else:
                effect = plan.send(result)
    except StopIteration:
        return effects
