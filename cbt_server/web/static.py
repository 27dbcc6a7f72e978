"""Static files and rendered pages over HTTP: cache headers, ETags and gzip.

Files (built once by `cbt_server.web.static_files`) are served under /static/: a
content-hashed name with a year-long, immutable `Cache-Control`, the plain name with a
strong ETag and `Cache-Control: no-cache`, so a stale reference costs a 304 rather than
stale code. Rendered pages revalidate on every load (`html_response`).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from cbt_server.keys import STATIC, TEMPLATES
from cbt_server.web.static_files import (
    URL_PREFIX,
    Mount,
    StaticError,
    StaticFiles,
    content_digest,
)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header value allows gzip (q > 0 for gzip, x-gzip or *)."""
    allowed: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding] = quality
    for coding in ("gzip", "x-gzip"):
        if coding in allowed:
            return allowed[coding] > 0
    return allowed.get("*", 0.0) > 0


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/ prefixes do not matter."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


async def serve(request: web.Request) -> web.StreamResponse:
    files = request.app[STATIC]
    found = files.lookup(request.match_info["path"])
    if found is None:
        raise web.HTTPNotFound(reason="no such static file")
    item, immutable = found
    use_gzip = item.gzip_body is not None and accepts_gzip(
        request.headers.get("Accept-Encoding", "")
    )
    etag = item.gzip_etag if use_gzip else item.etag
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if immutable else REVALIDATE,
    }
    if item.gzip_body is not None:
        headers["Vary"] = "Accept-Encoding"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return web.Response(status=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    body = item.gzip_body if use_gzip and item.gzip_body is not None else item.body
    headers["Content-Type"] = item.content_type
    return web.Response(body=body, headers=headers)


def html_response(request: web.Request, response: web.Response) -> web.Response:
    """Make a rendered page revalidate on every load, with an ETag and gzip when accepted.

    Pages carry the hashed URLs of their scripts, so a page must never be cached stale.
    """
    body = response.body
    if not isinstance(body, bytes):
        raise TypeError("html_response needs a rendered response with a bytes body")
    # Weak: the bytes differ with and without gzip, the page does not.
    etag = f'W/"{content_digest(body)}"'
    response.headers["Cache-Control"] = REVALIDATE
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept-Encoding"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return web.Response(
            status=304,
            headers={"ETag": etag, "Cache-Control": REVALIDATE, "Vary": "Accept-Encoding"},
        )
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        response.enable_compression(web.ContentCoding.gzip)
    return response


def setup(app: web.Application, mounts: Iterable[Mount] | None = None) -> None:
    """Read the static trees, serve them under /static/, give templates `static_url`."""
    if TEMPLATES not in app:
        raise StaticError("static.setup needs templates.setup to run first")
    files = StaticFiles.build(mounts)
    app[STATIC] = files
    app.router.add_get(URL_PREFIX + "{path:.+}", serve, name="static")
    app[TEMPLATES].globals["static_url"] = files.url
    app[TEMPLATES].globals["static_deps"] = files.deps
