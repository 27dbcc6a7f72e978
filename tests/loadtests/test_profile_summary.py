import pytest

from loadtests.profile_summary import frame_name, parse, report

STACKS = """\
<module> (serve.py:1);run_forever (asyncio/base_events.py:600);_run_once (asyncio/base_events.py:1900);select (selectors.py:468) 50
<module> (serve.py:1);handle (/srv/app/cbt_server/runtime/ws_candidate.py:10);save (/srv/app/cbt_server/runtime/candidate_service.py:20);execute (/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py:30) 30
<module> (serve.py:1);handle (/srv/app/cbt_server/runtime/ws_candidate.py:10);dumps (json/__init__.py:231) 10
 10
<module> (serve.py:1);_connection_worker_thread (aiosqlite/core.py:59);_queue_SimpleQueue_get (_queuemodule.c:1);0x7f00 (libc.so.6) 25
"""  # noqa: E501


def test_frame_names_drop_line_numbers_and_install_paths() -> None:
    assert (
        frame_name("execute (/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py:30)")
        == "execute (sqlalchemy/engine/base.py)"
    )
    assert (
        frame_name("handle (/srv/app/cbt_server/runtime/ws.py:10)")
        == "handle (cbt_server/runtime/ws.py)"
    )


def test_idle_samples_are_set_apart_and_time_is_attributed() -> None:
    profile = parse(STACKS.splitlines())
    # The aiosqlite thread waiting on its queue (a native stack) is idle too.
    assert (profile.total, profile.idle, profile.busy) == (125, 85, 40)
    assert profile.self_time["execute (sqlalchemy/engine/base.py)"] == 30
    assert profile.inclusive["handle (cbt_server/runtime/ws_candidate.py)"] == 40
    lines = report(profile, top=5, under="cbt_server")
    assert lines[0] == "samples 125, idle 85 (68%), busy 40"
    assert "   75.0%  execute (sqlalchemy/engine/base.py)" in lines
    assert "  100.0%  handle (cbt_server/runtime/ws_candidate.py)" in lines
    heading = next(i for i, line in enumerate(lines) if line.startswith("inclusive"))
    inclusive = lines[heading + 1 :]
    assert inclusive and all("cbt_server" in line for line in inclusive)


def test_a_line_without_a_count_is_refused() -> None:
    with pytest.raises(ValueError, match="not a collapsed stack line"):
        parse(["a (x.py:1);b (y.py:2)"])
