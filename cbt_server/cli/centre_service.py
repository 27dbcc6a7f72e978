"""`cbt-server centre serve` and `centre site …`: the city centre's own service.

Mounted on the `centre` group by cbt_server.cli.main beside `centre pull` (files).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre import sites
from cbt_server.cli.core import (
    CliError,
    cli_actor,
    in_db,
    json_option,
    print_json,
    print_listing,
    settings_from,
)
from cbt_server.errors import DomainError
from cbt_server.settings import SettingsError, load_settings


def _ready(host: str, port: int) -> str:
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    return "\n".join(
        [
            f"CBT centre ready on {base}  (health: {base}/healthz)",
            f"  centre staff 中心工作人员: {base}/staff/login  → {base}/centre",
            "Press Ctrl+C to stop the server. 按 Ctrl+C 停止服务。",
        ]
    )


@click.command("serve")
@click.option("--host", envvar="CBT_HOST", help="Listen address [127.0.0.1].")
@click.option("--port", envvar="CBT_PORT", type=click.IntRange(0, 65535), help="Port [8080].")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the city centre's service: dashboard, site register, histories; pulls every
    registered site every CBT_CENTRE_PULL_SECONDS. PostgreSQL in production
    (CBT_DATABASE_URL); SQLite for a demo."""
    from cbt_server.centre.app import create_centre_app
    from cbt_server.runtime.workers import serve_one

    try:
        settings = settings_from(ctx).replace(
            **{k: v for k, v in {"host": host, "port": port}.items() if v}
        )
    except SettingsError as error:
        raise CliError(str(error)) from None
    serve_one(settings, factory=create_centre_app, ready=_ready(settings.host, settings.port))


@click.group("site")
def site_group() -> None:
    """The sites the centre pulls from."""


@site_group.command("add")
@click.option("--code", required=True, help="Short code of the site, e.g. site-a.")
@click.option("--url", required=True, help="The site server's base URL.")
@click.option(
    "--token",
    required=True,
    envvar="CBT_SITE_TOKEN",
    help="The site's results:read token (made there with `cbt-server token create`).",
)
@click.option("--name", default="", help="The site's name (考点名称).")
@json_option
@click.pass_context
def site_add(ctx: click.Context, code: str, url: str, token: str, name: str, as_json: bool) -> None:
    """Register a site. Prints the token the site presents to the centre (only copy).
    The site's signing key is pinned on the first pull."""

    async def work(db: AsyncSession) -> tuple[str, str]:
        site, secret = await sites.add_site(db, code, url, token, name=name, actor=cli_actor())
        return site.code, secret

    added, secret = in_db(ctx, work)
    if as_json:
        print_json({"code": added, "site_token": secret})
    else:
        click.echo(f"site {added!r} registered; its token for calling the centre: {secret}")


@site_group.command("list")
@json_option
@click.pass_context
def site_list(ctx: click.Context, as_json: bool) -> None:
    """Registered sites with their pinned key, cursor state and last pull."""

    async def work(db: AsyncSession) -> list[dict[str, object]]:
        return [
            {
                "code": s.code,
                "url": s.url,
                "kid": s.kid,
                "offered_kid": s.offered_kid,
                "status": s.status,
                "status_reason": s.status_reason,
                "last_pull_at": s.last_pull_at.isoformat() if s.last_pull_at else None,
            }
            for s in await sites.list_sites(db)
        ]

    print_listing(
        in_db(ctx, work),
        as_json,
        lambda r: (
            f"{r['code']}\t{r['url']}\t{r['kid'] or '-'}\t{r['status']}\t{r['status_reason']}"
        ),
    )


@site_group.command("trust-key")
@click.option("--code", required=True, help="The site.")
@click.option("--kid", help="The key id you confirmed with the site (refused if it differs).")
@click.pass_context
def site_trust_key(ctx: click.Context, code: str, kid: str | None) -> None:
    """Trust the new signing key a site offers (after confirming it with the site)."""

    async def work(db: AsyncSession) -> str:
        return await sites.trust_key(db, code, actor=cli_actor(), kid=kid)

    click.echo(f"site {code!r}: key {in_db(ctx, work)} trusted; the next pull uses it")


@site_group.command("set-token")
@click.option("--code", required=True, help="The site.")
@click.option(
    "--token", required=True, envvar="CBT_SITE_TOKEN", help="The site's new results:read token."
)
@click.pass_context
def site_set_token(ctx: click.Context, code: str, token: str) -> None:
    """Replace the token the centre sends to a site (after a token_refused state)."""

    async def work(db: AsyncSession) -> None:
        await sites.set_token(db, code, token, actor=cli_actor())

    in_db(ctx, work)
    click.echo(f"site {code!r}: token replaced; the next pull uses it")


@site_group.command("rewind")
@click.option("--code", required=True, help="The site.")
@click.pass_context
def site_rewind(ctx: click.Context, code: str) -> None:
    """Pull the site from the start again (after a cursor_ahead state)."""

    async def work(db: AsyncSession) -> None:
        await sites.rewind(db, code, actor=cli_actor())

    in_db(ctx, work)
    click.echo(f"site {code!r}: the next pull starts from the beginning")


@click.command("demo")
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/centre-demo"),
    show_default=True,
    help="Folder for the centre's and the two sites' data.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65533),
    default=8090,
    show_default=True,
    help="The centre's port; the sites take the next two.",
)
@click.option("--no-serve", is_flag=True, help="Prepare everything and exit.")
def demo(root: Path, port: int, no_serve: bool) -> None:
    """A city centre and two demo sites on this machine (SQLite): results graded and
    signed at the sites, pulled, verified and re-graded at the centre every 10 s."""
    from cbt_server.centre import demo as centre_demo
    from cbt_server.demo import prepare_demo

    host = "127.0.0.1"
    demo_sites = [
        centre_demo.DemoSite("site-a", "演示考点 A", port + 1, range(1, 21), True),
        centre_demo.DemoSite("site-b", "演示考点 B", port + 2, range(21, 31), False),
    ]
    urls: dict[str, tuple[str, str, str]] = {}
    try:
        for site in demo_sites:
            settings = centre_demo.site_settings(root, site, host)
            credentials = centre_demo.read_json(prepare_demo(settings))
            sat = asyncio.run(centre_demo.play_sitting(settings, site))
            if sat:
                click.echo(f"{site.code}: {sat} candidates sat DEMO-01 and were graded")
            urls[site.code] = (site.name, f"http://{host}:{site.port}", credentials["centre_token"])
        centre_settings = load_settings({}, data_dir=str(root / "centre"), host=host, port=port)
        saved = root / "centre" / "centre-credentials.json"
        previous = centre_demo.read_json(saved).get("password")
        password = asyncio.run(
            centre_demo.prepare_centre(
                centre_settings, urls, previous if isinstance(previous, str) else None
            )
        )
    except (DomainError, KeyError) as error:
        raise CliError(f"preparing the centre demo: {error}") from None
    saved.write_text(
        json.dumps({"username": centre_demo.CENTRE_ADMIN, "password": password}), encoding="utf-8"
    )
    saved.chmod(0o600)
    click.echo(
        f"centre  http://{host}:{port}/staff/login  user {centre_demo.CENTRE_ADMIN}  "
        f"password {password}\n"
        f"site-a  http://{host}:{port + 1}/staff/login  (credentials in "
        f"{root / 'site-a' / 'demo-credentials.json'}; signed off)\n"
        f"site-b  http://{host}:{port + 2}/staff/login  (credentials in "
        f"{root / 'site-b' / 'demo-credentials.json'}; sign the score summary there, then "
        "watch the centre)\n"
        f"paper request of site-a for {centre_demo.DEMO_REQUEST}: approve it at "
        f"http://{host}:{port}/centre/requests"
    )
    if no_serve:
        return
    _run_all(
        [
            (["centre", "serve"], root / "centre", port, {"CBT_CENTRE_PULL_SECONDS": "10"}),
            *((["serve"], root / s.code, s.port, {}) for s in demo_sites),
        ]
    )


def _run_all(commands: list[tuple[list[str], Path, int, dict[str, str]]]) -> None:
    """Run the servers as child processes until Ctrl+C, SIGTERM or one of them exits;
    then stop them all."""

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    children = []
    for args, data_dir, port, extra in commands:
        env = {
            **os.environ,
            "CBT_DATA_DIR": str(data_dir),
            "CBT_PORT": str(port),
            "CBT_HOST": "127.0.0.1",
            **extra,
        }
        env.pop("CBT_DATABASE_URL", None)  # each on its own SQLite file
        children.append(subprocess.Popen([sys.executable, "-m", "cbt_server", *args], env=env))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
