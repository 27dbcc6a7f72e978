"""Papers out on the command line.

At a site: `cbt-server centre request send` (ask the centre for a session's papers, with
its roster and 补考 marks), `cbt-server package fetch` (the sealed package, once
approved) and `cbt-server package key` (its content key, on the exam day).
At the centre: `cbt-server centre request list|approve` and `cbt-server centre issuer-key`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre import papers, site_staff
from cbt_server.centre.issuer import issuer_key, issuer_public_pem
from cbt_server.centre.request_roster import request_roster
from cbt_server.centre.site_client import CentreCallError, CentreClient, own_readiness
from cbt_server.cli.core import CliError, cli_actor, in_db, json_option, print_json, settings_from
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.types import utcnow
from cbt_server.errors import DomainError

T = TypeVar("T")

centre_option = click.option(
    "--centre", "centre_url", required=True, help="The centre's base URL, e.g. https://centre:8090."
)
token_option = click.option(
    "--token",
    required=True,
    envvar="CBT_CENTRE_SITE_TOKEN",
    help="The token the centre issued this site (cbtc_…; or set CBT_CENTRE_SITE_TOKEN).",
)
request_option = click.option("--request", "request_id", required=True, type=click.IntRange(1))


def call_centre(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except CentreCallError as exc:
        raise CliError(str(exc)) from None


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that does not exist yet (never overwrite a package or a key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CliError(f"{path} exists already: choose another --out") from None
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@click.group("request")
def request_group() -> None:
    """Paper requests (试卷申请): sent by a site, approved at the centre."""


@request_group.command("send")
@centre_option
@token_option
@click.option("--occupation", required=True, help="Occupation code, e.g. electrician.")
@click.option("--level", required=True, type=click.IntRange(1, 5))
@click.option("--session", required=True, help="The session code (场次).")
@click.option("--date", "exam_date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--candidates", required=True, type=click.IntRange(1, papers.MAX_CANDIDATES))
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The roster (xlsx/CSV, with an optional 补考 column): the centre checks each resit.",
)
@json_option
def request_send(
    centre_url: str,
    token: str,
    occupation: str,
    level: int,
    session: str,
    exam_date: datetime,
    candidates: int,
    roster: Path | None,
    as_json: bool,
) -> None:
    """Ask the centre for the papers of one session (at a site)."""
    body: dict[str, Any] = {
        "occupation": occupation,
        "level": level,
        "session": session,
        "exam_date": exam_date.date().isoformat(),
        "candidates": candidates,
    }
    if roster is not None:
        try:
            data = roster.read_bytes()
            body["roster"] = request_roster(data, roster.name, session, occupation, level)
        except OSError as exc:
            raise CliError(f"cannot read {roster}: {exc.strerror}") from None
        except DomainError as exc:
            raise CliError(exc.message) from None
    answer = call_centre(CentreClient(centre_url, token).request_papers(body))
    if as_json:
        print_json(answer)
    else:
        click.echo(
            f"paper request {answer['id']} sent: {answer['status']} "
            f"({answer['resits']} resit(s) checked by the centre)"
        )


@request_group.command("list")
@json_option
@click.pass_context
def request_list(ctx: click.Context, as_json: bool) -> None:
    """Every paper request the centre holds (at the centre)."""

    async def work(db: AsyncSession) -> list[dict[str, Any]]:
        return await papers.list_requests(db)

    rows = in_db(ctx, work)
    if as_json:
        print_json({"requests": rows})
        return
    for r in rows:
        click.echo(
            f"{r['id']:>5} {r['site']} {r['session']} {r['exam_date']} "
            f"{r['occupation']}/{r['level']} ×{r['candidates']} {r['status']}"
        )


@request_group.command("approve")
@click.argument("request_id", type=click.IntRange(1))
@click.pass_context
def request_approve(ctx: click.Context, request_id: int) -> None:
    """Assemble and seal a request's papers, valid on its exam day (at the centre)."""
    settings = settings_from(ctx)
    cipher = ContentCipher.from_data_dir(settings.data_path)
    signing_key = issuer_key(settings.data_path)
    actor = cli_actor()

    async def work(db: AsyncSession) -> str:
        row = await papers.approve(db, cipher, signing_key, request_id, actor=actor, now=utcnow())
        return f"paper request {request_id} approved: package {row.package_id}"

    click.echo(in_db(ctx, work))


@click.command("issuer-key")
@click.pass_context
def issuer_key_command(ctx: click.Context) -> None:
    """Print the public key that signs the centre's packages (give it to each site)."""
    click.echo(issuer_public_pem(settings_from(ctx).data_path), nl=False)


@click.command("fetch")
@centre_option
@token_option
@request_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def package_fetch(centre_url: str, token: str, request_id: int, out: Path) -> None:
    """Pull an approved request's sealed package from the centre (at a site)."""
    data = call_centre(CentreClient(centre_url, token).package(request_id))
    write_new(out, data, 0o644)
    click.echo(f"{out}: {len(data)} bytes; its key comes on the exam day (package key)")


@click.command("key")
@centre_option
@token_option
@request_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def package_key(centre_url: str, token: str, request_id: int, out: Path) -> None:
    """Fetch a package's content key, on the exam day only, into a key file (mode 0600)
    for `package import --key` (at a site)."""
    key = call_centre(CentreClient(centre_url, token).content_key(request_id))
    write_new(out, key, 0o600)
    click.echo(f"{out}: the content key of request {request_id}")


@click.group("assignments")
def assignments_group() -> None:
    """Examiners and supervisors the centre assigned to this site's sessions."""


@assignments_group.command("pull")
@centre_option
@token_option
@json_option
@click.pass_context
def assignments_pull(ctx: click.Context, centre_url: str, token: str, as_json: bool) -> None:
    """Fetch this site's assignments from the centre and make each person a staff account
    assigned to that one session (new accounts: a one-time password, shown once)."""
    answer = call_centre(CentreClient(centre_url, token).assignments())
    actor = cli_actor()

    async def work(db: AsyncSession) -> list[site_staff.Outcome]:
        wanted = site_staff.parse_assignments(answer)
        return await site_staff.apply_assignments(
            db, wanted, site=str(answer.get("site", "")), actor=actor
        )

    outcomes = in_db(ctx, work)
    if as_json:
        print_json({"assignments": [asdict(o) for o in outcomes]})
        return
    for o in outcomes:
        lead = " (考评组长 leader)" if o.leader else ""
        line = f"{o.username} {o.role}{lead} → {o.session}: {o.status}"
        if o.password:
            line += f"; one-time password: {o.password}"
        click.echo(line)


@click.group("readiness")
def readiness_group() -> None:
    """This site's lab readiness verdict, shown on the centre's dashboard."""


@readiness_group.command("push")
@centre_option
@token_option
@click.option(
    "--site", "site_url", required=True, help="This site's server, e.g. http://127.0.0.1:8080."
)
@click.option(
    "--lab-token",
    required=True,
    envvar="CBT_LAB_TOKEN",
    help="A lab:report token of this site (or set CBT_LAB_TOKEN).",
)
@click.option("--room", type=click.IntRange(1, 500), help="Candidates to plan for.")
def readiness_push(
    centre_url: str, token: str, site_url: str, lab_token: str, room: int | None
) -> None:
    """Read this site's verdict from its own server and push it to the centre."""

    async def go() -> dict[str, Any]:
        verdict = await own_readiness(site_url, lab_token, room)
        return await CentreClient(centre_url, token).push_readiness(verdict)

    answer = call_centre(go())
    state = "就绪 ready" if answer.get("ready") else "未就绪 not ready"
    click.echo(f"readiness of {answer.get('site')} pushed: {state}")
