"""The page's pure modules, run in Chromium: the outbox (what is resent and under which
number), the countdown, the key map and the answer rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from cbt_server.keys import STATIC
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

# A localStorage stand-in, so each check starts empty and can look at what was saved.
MEMORY_STORE = """
  const saved = new Map();
  const store = {
    saved,
    get: (key, fallback = null) => (saved.has(key) ? JSON.parse(saved.get(key)) : fallback),
    set: (key, value) => { saved.set(key, JSON.stringify(value)); return true; },
    remove: (key) => { saved.delete(key); },
  };
"""


@pytest.fixture
def any_db_url(sqlite_url: str) -> str:
    """Browser-side checks: the database does not matter, run them once (SQLite)."""
    return sqlite_url


@pytest.fixture
async def page(live_server: LiveServer, browser: Browser) -> AsyncIterator[Page]:
    ctx = await browser.new_context()
    try:
        tab = await ctx.new_page()
        await tab.goto(live_server.base_url + "/")
        yield tab
    finally:
        await ctx.close()


async def run(page: Page, live_server: LiveServer, module: str, body: str) -> Any:
    url = live_server.app[STATIC].url(f"candidate/{module}")
    script = f"async (url) => {{ const m = await import(url); {MEMORY_STORE} {body} }}"
    return await page.evaluate(script, url)


async def test_outbox_numbers_keeps_and_supersedes(page: Page, live_server: LiveServer) -> None:
    result = await run(
        page,
        live_server,
        "outbox.js",
        """
        const box = new m.Outbox('k', store);
        const a = box.add({ type: 'answer', item_id: 'i1', response: ['A'] });
        box.supersede({ type: 'answer', item_id: 'i1' });
        const b = box.add({ type: 'answer', item_id: 'i1', response: ['B'] });
        const f = box.add({ type: 'flag', item_id: 'i1', flagged: true });
        const again = new m.Outbox('k', store);  // a reload reads it back
        return {
          seqs: [a.seq, b.seq, f.seq],
          pending: box.items.map((x) => x.seq),
          reread: again.items.map((x) => [x.seq, x.type]),
          lastSeq: again.lastSeq,
          taken: box.take(2).response,
          after: box.items.map((x) => x.seq),
          missing: box.take(99),
        };
        """,
    )
    assert result == {
        "seqs": [1, 2, 3],
        "pending": [2, 3],
        "reread": [[2, "answer"], [3, "flag"]],
        "lastSeq": 3,
        "taken": ["B"],
        "after": [3],
        "missing": None,
    }


async def test_outbox_drops_what_another_session_left(page: Page, live_server: LiveServer) -> None:
    """One ticket, two sessions (the rehearsal, then the formal one): what the rehearsal
    left unsent on this PC is never sent into the formal session."""
    result = await run(
        page,
        live_server,
        "outbox.js",
        """
        const old = new m.Outbox('k', store);           // saved before sessions were kept
        old.add({ type: 'answer', item_id: 'r1', response: ['A'] });
        const legacy = new m.Outbox('k', store);
        legacy.bind(7);                                  // taken as this session's
        const kept = legacy.items.map((x) => x.item_id);
        legacy.add({ type: 'answer', item_id: 'r2', response: ['B'] });
        const same = new m.Outbox('k', store);
        same.bind(7);                                    // a reconnect to the same session
        const resumed = same.items.map((x) => x.item_id);
        const next = new m.Outbox('k', store);
        next.bind(8);                                    // the next session, same ticket
        const again = new m.Outbox('k', store);
        return {
          kept, resumed, next: next.items, lastSeq: next.lastSeq,
          saved: [again.items, again.session],
        };
        """,
    )
    assert result == {
        "kept": ["r1"],
        "resumed": ["r1", "r2"],
        "next": [],
        "lastSeq": 2,
        "saved": [[], 8],
    }


async def test_outbox_reconcile_resends_what_the_server_skipped(
    page: Page, live_server: LiveServer
) -> None:
    """After a reconnect, messages behind the server's mark that it did not apply (it
    refused them) are renumbered past everything, the applied ones are dropped."""
    result = await run(
        page,
        live_server,
        "outbox.js",
        """
        const box = new m.Outbox('k', store);
        box.add({ type: 'answer', item_id: 'i1', response: ['A'] });  // 1: applied
        box.add({ type: 'answer', item_id: 'i2', response: ['C'] });  // 2: refused
        box.add({ type: 'submit' });                                   // 3: refused
        box.add({ type: 'answer', item_id: 'i4', response: ['D'] });  // 4: beyond the mark
        const server = { i1: ['A'], i2: ['B'] };
        const applied = (x) =>
          x.type === 'answer' && JSON.stringify(server[x.item_id]) === JSON.stringify(x.response);
        box.reconcile(3, applied, (x) => x.type !== 'submit');
        const first = box.items.map((x) => [x.seq, x.item_id || x.type]);
        const renumbered = box.renumber(4);
        return {
          first,
          renumbered: renumbered.seq,
          second: box.items.map((x) => [x.seq, x.item_id]),
          lastSeq: box.lastSeq,
          reconcileLowMark: (() => {
            const other = new m.Outbox('o', store);
            other.reconcile(40, () => true, () => true);
            return other.add({ type: 'flag', item_id: 'x', flagged: false }).seq;
          })(),
        };
        """,
    )
    assert result == {
        "first": [[4, "i4"], [5, "i2"]],
        "renumbered": 6,
        "second": [[5, "i2"], [6, "i4"]],
        "lastSeq": 6,
        "reconcileLowMark": 41,  # new numbers start past the server's mark
    }


async def test_countdown_uses_elapsed_monotonic_time_and_freezes(
    page: Page, live_server: LiveServer
) -> None:
    result = await run(
        page,
        live_server,
        "countdown.js",
        """
        let now = 1000;
        const clock = new m.Countdown(() => now);
        const unknown = clock.remaining();
        clock.set(10 * 60 * 1000, false);
        now += 61500;
        const running = clock.remaining();
        clock.set(300000, true);
        now += 100000;
        const frozen = clock.remaining();
        clock.set(2000, false);
        now += 5000;
        return {
          unknown, running, frozen, floor: clock.remaining(),
          texts: [m.formatClock(5400000), m.formatClock(299001), m.formatClock(0)],
          warning: m.WARNING_MS,
        };
        """,
    )
    assert result == {
        "unknown": None,
        "running": 538500,
        "frozen": 300000,
        "floor": 0,
        "texts": ["01:30:00", "00:05:00", "00:00:00"],
        "warning": 300000,
    }


async def test_key_map(page: Page, live_server: LiveServer) -> None:
    result = await run(
        page,
        live_server,
        "keyboard.js",
        """
        const keys = ['a', 'F', '1', '6', '7', 'g', 'ArrowLeft', 'PageDown', 'Home', 'End',
                      'ArrowUp', 'm', '+', '-', 'Enter'];
        const out = {};
        for (const key of keys) out[key] = m.keyAction({ key });
        out.ctrl = m.keyAction({ key: 'a', ctrlKey: true });
        return out;
        """,
    )
    assert result["a"] == {"type": "choose", "index": 0}
    assert result["F"] == {"type": "choose", "index": 5}
    assert result["1"] == {"type": "choose", "index": 0}
    assert result["6"] == {"type": "choose", "index": 5}
    assert result["7"] is None and result["g"] is None and result["Enter"] is None
    assert result["ArrowLeft"] == {"type": "move", "delta": -1}
    assert result["PageDown"] == {"type": "move", "delta": 1}
    assert result["Home"] == {"type": "jump", "to": "first"}
    assert result["End"] == {"type": "jump", "to": "last"}
    assert result["ArrowUp"] == {"type": "focus-option", "delta": -1}
    assert result["m"] == {"type": "flag"}
    assert result["+"] == {"type": "size", "delta": 1}
    assert result["-"] == {"type": "size", "delta": -1}
    assert result["ctrl"] is None  # Ctrl+A, Ctrl+R... stay the browser's


async def test_answer_rules_and_counts(page: Page, live_server: LiveServer) -> None:
    result = await run(
        page,
        live_server,
        "paper.js",
        """
        const single = { type: 'single', options: [] };
        const multiple = { type: 'multiple', options: [] };
        const tf = { type: 'true_false', options: [] };
        const paper = m.flattenPaper({ paper_id: 'p', sections: [
          { type: 'single', title: 's', items: [{ item_id: 'a', type: 'single' },
                                                { item_id: 'b', type: 'single' }] },
          { type: 'true_false', title: 't', items: [{ item_id: 'c', type: 'true_false' }] },
        ] });
        const answers = { a: ['A'], c: [] };
        const flags = new Set(['b', 'c']);
        return {
          single: m.nextResponse(single, ['A'], 'B'),
          toggledOn: m.nextResponse(multiple, ['C'], 'A'),
          toggledOff: m.nextResponse(multiple, ['A', 'C'], 'C'),
          tfChoices: m.optionsOf(tf, (key) => key).map((o) => o.id),
          same: [m.sameResponse(['B', 'A'], ['A', 'B']), m.sameResponse(['A'], ['A', 'B'])],
          numbers: paper.items.map((x) => [x.item_id, x.number, x.section]),
          sections: paper.sections.map((s) => [s.type, s.start, s.count]),
          tally: m.tally(paper.items, (id) => answers[id] || [], (id) => flags.has(id)),
        };
        """,
    )
    assert result == {
        "single": ["B"],
        "toggledOn": ["A", "C"],
        "toggledOff": ["A"],
        "tfChoices": ["true", "false"],
        "same": [True, False],
        "numbers": [["a", 1, 0], ["b", 2, 0], ["c", 3, 1]],
        "sections": [["single", 0, 2], ["true_false", 2, 1]],
        "tally": {"total": 3, "answered": 1, "unanswered": [2, 3], "flagged": [2, 3]},
    }


async def test_console_seat_plan_and_bulk_rules(page: Page, live_server: LiveServer) -> None:
    """The console's pure modules: where a seat stands in a room's plan (4 rows of 10
    here, seat 1 front left, row by row), and which selected seats a bulk action takes."""
    layout = live_server.app[STATIC].url("console/layout.js")
    bulk = live_server.app[STATIC].url("console/bulk.js")
    result = await page.evaluate(
        """async ([layoutUrl, bulkUrl]) => {
          const layout = await import(layoutUrl);
          const bulk = await import(bulkUrl);
          const seats = [
            { seat: 3, state: 'answering', paused: false },
            { seat: 1, state: 'paused', paused: true },
            { seat: 2, state: 'submitted', paused: false },
            { seat: 4, state: 'answering', paused: true },
          ];
          const names = (list) => list.map((s) => s.seat);
          const pause = bulk.split('pause', seats);
          const extra = bulk.split('extra_time', seats);
          const sent = [];
          const outcome = await bulk.runBulk(
            async (command) => {
              if (command.seat === 4) throw { code: 'time_up' };
              sent.push(command.seat);
            },
            seats,
            (s) => ({ seat: s.seat }),
          );
          return {
            places: [1, 10, 11, 40, 41, 0].map((n) => layout.place(n, 4, 10)),
            unplanned: layout.place(1, null, null),
            pause: [names(pause.apply), names(pause.skip)],
            extra: [names(extra.apply), names(extra.skip)],
            sent,
            failed: outcome.failed.map((f) => [f.seat.seat, f.error.code]),
            list: bulk.seatList(pause.apply),
          };
        }""",
        [layout, bulk],
    )
    assert result == {
        "places": [
            {"row": 1, "col": 1},
            {"row": 1, "col": 10},
            {"row": 2, "col": 1},
            {"row": 4, "col": 10},
            None,
            None,
        ],
        "unplanned": None,
        "pause": [[3], [1, 2, 4]],
        "extra": [[1, 3, 4], [2]],
        "sent": [3, 1, 2],
        "failed": [[4, "time_up"]],
        "list": "3 号",
    }
