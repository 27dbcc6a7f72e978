from pathlib import Path

import pytest
from sqlalchemy import func, select

from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.idcard import problem
from cbt_server.settings import load_settings
from loadtests.roomdata import build_room, people


def test_people_have_valid_distinct_id_numbers_tickets_and_seats() -> None:
    crowd = people(2500)
    assert [p.seat for p in crowd] == list(range(1, 2501))
    assert len({p.ticket for p in crowd}) == 2500
    assert len({p.id_number for p in crowd}) == 2500
    assert all(problem(p.id_number) is None for p in crowd)


@pytest.mark.parametrize("count", [0, -3])
def test_people_refuses_an_empty_room(count: int) -> None:
    with pytest.raises(ValueError, match="candidates must be"):
        people(count)


async def test_build_room_prepares_every_paper_before_the_start(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=str(tmp_path / "data"))
    info = await build_room(settings, 3)
    assert info.papers == 3
    assert info.centre_token.startswith("cbt_")
    room = info.to_json(seed=5)
    assert room["seed"] == 5 and len(room["candidates"]) == 3
    assert room["answer_items"] is None and info.to_json(5, 10)["answer_items"] == 10
    assert "centre_token" not in room  # the token stays with the runner
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            exam = await session.get(models.ExamSession, info.session_id)
            assert exam is not None and exam.state == "scheduled"
            count = await session.scalar(
                select(func.count())
                .select_from(models.Paper)
                .where(models.Paper.session_id == info.session_id)
            )
            assert count == 3
            user = await session.scalar(
                select(models.User).where(models.User.username == info.proctor_username)
            )
            assert user is not None and user.role == "proctor"
    finally:
        await engine.dispose()
