"""Jinja2 rendering for server-rendered pages (templates live in client_web/templates).

Autoescaping is on for every template. Pages carry no inline script (the CSP forbids it):
scripts are ES modules under /static, data reaches them via data-* attributes or JSON
fetched from the server.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from cbt_server.keys import TEMPLATES


def make_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("client_web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def setup(app: web.Application) -> None:
    app[TEMPLATES] = make_environment()


def render(
    request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render template `name` with `context` as an HTML response."""
    html = request.app[TEMPLATES].get_template(name).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
