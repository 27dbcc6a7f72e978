"""The pure modules of the sitting's rules, run in Chromium: the calculator's state
machine (no string is evaluated) and the warnings, hand-in time and waiting facts."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.candidate_web.test_modules import any_db_url, page, run
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
__all__ = ["any_db_url", "page"]  # fixtures


async def test_calculator_state_machine(page: Page, live_server: LiveServer) -> None:
    result = await run(
        page,
        live_server,
        "calculator.js",
        """
        const run = (keys) => { const c = new m.Calculator(); let d = '';
                                for (const k of keys) d = c.press(k); return d; };
        return {
          chain: run(['1', '2', '+', '3', '*', '2', '=']),    // left to right: (12+3)*2
          decimals: run(['0', '.', '1', '+', '0', '.', '2', '=']),
          ratio: run(['3', '8', '0', '/', '2', '2', '0', '=']),
          divzero: run(['5', '/', '0', '=']),
          locked: run(['5', '/', '0', '=', '7']),
          cleared: run(['5', '/', '0', '=', 'C', '7']),
          erase: run(['1', '2', '3', '<', '<']),
          twoPoints: run(['1', '.', '.', '5']),
          operatorSwap: run(['9', '+', '-', '4', '=']),
          repeatEquals: run(['2', '+', '3', '=', '=']),
          digits: run(Array(20).fill('9')).length,
          unknown: run(['1', 'x', ';', 'alert(1)', '2']),
          keys: ['x', 'Enter', 'Backspace', 'Delete', 'a', '(', 'constructor']
                .map((key) => m.keyOf({ key })),
        };
        """,
    )
    assert result == {
        "chain": "30",
        "decimals": "0.3",
        "ratio": "1.72727272727",
        "divzero": "Error",
        "locked": "Error",
        "cleared": "7",
        "erase": "1",
        "twoPoints": "1.5",
        "operatorSwap": "5",
        "repeatEquals": "5",
        "digits": 14,
        "unknown": "12",
        "keys": ["*", "=", "<", "C", None, None, None],
    }


async def test_warnings_hand_in_and_waiting_facts(page: Page, live_server: LiveServer) -> None:
    result = await run(
        page,
        live_server,
        "rules.js",
        """
        const shown = new Set();
        const out = {};
        out.early = m.dueWarning(16 * 60000, shown);
        out.fifteen = m.dueWarning(15 * 60000, shown); shown.add(out.fifteen);
        out.again = m.dueWarning(14 * 60000, shown);
        out.five = m.dueWarning(5 * 60000 - 1, shown); shown.add(out.five);
        out.over = m.dueWarning(0, new Set());
        out.late = m.dueWarning(4 * 60000, new Set());     // logged in with 4 minutes left
        m.forgetWarnings(10 * 60000, shown);               // extra time: 10 minutes left
        out.kept = [...shown];
        const session = { submit_opens_at: '2026-12-06T01:30:00Z' };
        out.wait = m.submitWaitMs(session, Date.parse('2026-12-06T01:29:00Z'));
        out.open = m.submitWaitMs(session, Date.parse('2026-12-06T01:31:00Z'));
        out.none = m.submitWaitMs({ submit_opens_at: null }, 0);
        out.facts = m.waitingFacts(
          { items: 100, total_score: 100, pass_mark: 60, duration_ms: 5400000 });
        out.rules = m.waitingRules(
          { late_minutes: 0, min_submit_minutes: null, calculator: false });
        return out;
        """,
    )
    assert result["early"] is None and result["fifteen"] == 900000 and result["again"] is None
    assert result["five"] == 300000 and result["over"] is None and result["late"] == 300000
    assert result["kept"] == [900000]  # the 5-minute warning will be given again
    assert (result["wait"], result["open"], result["none"]) == (60000, 0, 0)
    assert result["facts"] == [
        ["waiting.items", {"n": 100}],
        ["waiting.total", {"score": "100"}],
        ["waiting.pass_mark", {"score": "60"}],
        ["waiting.duration", {"minutes": 90}],
    ]
    assert result["rules"] == [["rules.late", {"minutes": 0}], ["rules.warnings", {}]]
