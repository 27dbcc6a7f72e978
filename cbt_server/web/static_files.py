"""The static files for every page, read once and made ready to serve: hashed names, gzip.

The trees `client_web/static/` (at `/static/`) and `client_web/i18n/` (at `/static/i18n/`)
are read once when the app is built. Every file gets a content-hashed name
(`candidate/app.js` -> `candidate/app.3f2a1b9c0d12.js`) served with a year-long,
immutable `Cache-Control`; the plain name is served too, with a strong ETag and
`Cache-Control: no-cache`, so a stale reference costs a 304 rather than stale code.

ES modules import each other by relative path, and a browser keys modules by URL, so a
hashed module must import hashed siblings: relative specifiers in JS (`import ... from
'./x.js'`, `import('./x.js')`, `new URL('./x', import.meta.url)`) and CSS (`url(...)`,
`@import`) are rewritten to the hashed names. A file's hash covers the rewritten text, so
it changes whenever a file it depends on changes (a Merkle tree over the import graph).
Files importing each other in a cycle share one hash input, so every member still has
exactly one URL.

Templates call `static_url('candidate/app.js')` for the hashed URL and
`static_deps('candidate/app.js')` for the hashed URLs of every module it imports,
directly or not (for `<link rel="modulepreload">`, which saves a round trip per level of
the import tree). Change a file and restart the server to serve the new version.

This module builds the set of files (no HTTP); `cbt_server.web.static` serves it.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import client_web
from cbt_server.graphs import strongly_connected

log = logging.getLogger(__name__)

URL_PREFIX = "/static/"
HASH_CHARS = 12
MIN_GZIP_BYTES = 256

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
_COMPRESSIBLE = {".js", ".mjs", ".css", ".json", ".html", ".txt", ".svg", ".ico"}
_SKIPPED_SUFFIXES = {".py", ".pyc", ".gz", ".br"}

# Relative references a browser resolves against the file's own URL.
_JS_REFERENCES = (
    re.compile(r"""\b(?:import|export)\b[^'"`;()]*?\bfrom\s*(['"])(\.{1,2}/[^'"\s?#]+)\1"""),
    re.compile(r"""\bimport\s*(['"])(\.{1,2}/[^'"\s?#]+)\1"""),
    re.compile(r"""\bimport\s*\(\s*(['"])(\.{1,2}/[^'"\s?#]+)\1\s*\)"""),
    re.compile(r"""\bnew\s+URL\(\s*(['"])(\.{1,2}/[^'"\s?#]+)\1\s*,\s*import\.meta\.url"""),
)
_CSS_REFERENCES = (
    re.compile(r"""url\(\s*(['"]?)([^'")\s?#:]+)\1\s*\)"""),
    re.compile(r"""@import\s+(['"])([^'"\s?#:]+)\1"""),
)


class StaticError(ValueError):
    """The static trees cannot be served as they are (the message names the file)."""


@dataclass(frozen=True, slots=True)
class Mount:
    """A folder served under `prefix` (relative to /static/, '' or ending in '/')."""

    prefix: str
    root: Path


@dataclass(slots=True)
class _Source:
    name: str
    suffix: str
    raw: bytes
    text: str | None
    refs: list[tuple[int, int, str]] = field(default_factory=list)  # start, end, target


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file ready to serve: its body, an optional gzip body, and their ETags."""

    name: str
    hashed_name: str
    content_type: str
    body: bytes
    gzip_body: bytes | None
    digest: str
    deps: tuple[str, ...]

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def gzip_etag(self) -> str:
        return f'"{self.digest}.gz"'


def default_mounts() -> tuple[Mount, ...]:
    base = Path(client_web.__file__).resolve().parent
    return (Mount("", base / "static"), Mount("i18n/", base / "i18n"))


def hashed_path(name: str, digest: str) -> str:
    """`dir/app.js` -> `dir/app.<digest>.js` (the hash goes before the last suffix)."""
    folder, base = posixpath.split(name)
    stem, dot, ext = base.rpartition(".")
    hashed = f"{stem}.{digest}.{ext}" if dot and stem else f"{base}.{digest}"
    return posixpath.join(folder, hashed) if folder else hashed


def _walk(mount: Mount) -> Iterator[tuple[str, Path]]:
    if not mount.root.is_dir():
        return
    for path in sorted(mount.root.rglob("*")):
        rel = path.relative_to(mount.root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if not path.is_file() or path.suffix in _SKIPPED_SUFFIXES:
            continue
        yield mount.prefix + rel.as_posix(), path


def _resolve(name: str, spec: str, names: set[str]) -> str | None:
    if spec.startswith("/") or "//" in spec:
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
    if target.startswith("../") or target == "..":
        return None
    return target if target in names else None


def _find_refs(source: _Source, names: set[str]) -> None:
    if source.text is None:
        return
    patterns: tuple[re.Pattern[str], ...]
    if source.suffix in (".js", ".mjs"):
        patterns = _JS_REFERENCES
    elif source.suffix == ".css":
        patterns = _CSS_REFERENCES
    else:
        return
    seen: set[int] = set()
    for pattern in patterns:
        for match in pattern.finditer(source.text):
            start, end = match.span(2)
            if start in seen:
                continue
            spec = match.group(2)
            target = _resolve(source.name, spec, names)
            if target is None:
                if spec.startswith("/"):
                    continue
                log.warning("%s: reference %r is not a file of the static tree", source.name, spec)
                continue
            seen.add(start)
            source.refs.append((start, end, target))
    source.refs.sort()


def _rewrite(source: _Source, hashed: dict[str, str]) -> bytes:
    """The file with each reference to a file in `hashed` pointing at its hashed name."""
    if source.text is None or not source.refs:
        return source.raw
    out: list[str] = []
    pos = 0
    for start, end, target in source.refs:
        if target not in hashed:
            continue
        spec = source.text[start:end]
        folder = spec.rpartition("/")[0]
        new_base = posixpath.basename(hashed[target])
        out.append(source.text[pos:start])
        out.append(f"{folder}/{new_base}" if folder else new_base)
        pos = end
    out.append(source.text[pos:])
    return "".join(out).encode("utf-8")


def _components(sources: dict[str, _Source]) -> list[list[str]]:
    """Strongly connected components of the reference graph, dependencies first."""
    return strongly_connected(sources, lambda name: (target for _, _, target in sources[name].refs))


def content_digest(data: bytes) -> str:
    """The short content hash used in hashed names and ETags."""
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


class StaticFiles:
    """The served files by plain and hashed name; built once from the mounts."""

    def __init__(self, files: Iterable[StaticFile]) -> None:
        self._by_name: dict[str, StaticFile] = {}
        self._by_path: dict[str, tuple[StaticFile, bool]] = {}
        for item in files:
            self._by_name[item.name] = item
            self._by_path[item.name] = (item, False)
        for item in self._by_name.values():
            if item.hashed_name in self._by_path:
                raise StaticError(f"{item.hashed_name}: a file has the hashed name of another")
            self._by_path[item.hashed_name] = (item, True)

    @classmethod
    def build(cls, mounts: Iterable[Mount] | None = None) -> StaticFiles:
        sources: dict[str, _Source] = {}
        for mount in default_mounts() if mounts is None else mounts:
            for name, path in _walk(mount):
                if name in sources:
                    raise StaticError(f"{name}: served from two folders ({path})")
                raw = path.read_bytes()
                text: str | None = None
                if path.suffix in _COMPRESSIBLE:
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise StaticError(f"{path}: not UTF-8 text ({exc})") from None
                sources[name] = _Source(name, path.suffix.lower(), raw, text)
        names = set(sources)
        for source in sources.values():
            _find_refs(source, names)

        hashed: dict[str, str] = {}
        bodies: dict[str, bytes] = {}
        digests: dict[str, str] = {}
        for component in _components(sources):
            members = set(component)
            outside = {k: v for k, v in hashed.items() if k not in members}
            partial = {name: _rewrite(sources[name], outside) for name in component}
            cyclic = len(component) > 1 or any(
                target == component[0] for _, _, target in sources[component[0]].refs
            )
            if cyclic:
                shared = hashlib.sha256()
                for name in component:
                    shared.update(name.encode() + b"\0" + partial[name] + b"\0")
                group = shared.hexdigest()
                for name in component:
                    digests[name] = content_digest(f"{group}:{name}".encode())
                    hashed[name] = hashed_path(name, digests[name])
                for name in component:
                    bodies[name] = _rewrite(sources[name], hashed)
            else:
                name = component[0]
                bodies[name] = partial[name]
                digests[name] = content_digest(bodies[name])
                hashed[name] = hashed_path(name, digests[name])

        files = []
        for name, source in sources.items():
            deps = tuple(sorted({target for _, _, target in source.refs}))
            files.append(
                StaticFile(
                    name=name,
                    hashed_name=hashed[name],
                    content_type=_CONTENT_TYPES.get(source.suffix, "application/octet-stream"),
                    body=bodies[name],
                    gzip_body=_gzip(bodies[name]) if source.suffix in _COMPRESSIBLE else None,
                    digest=digests[name],
                    deps=deps,
                )
            )
        return cls(files)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> StaticFile:
        try:
            return self._by_name[name]
        except KeyError:
            raise StaticError(f"no static file {name!r}") from None

    def lookup(self, path: str) -> tuple[StaticFile, bool] | None:
        """The file at URL path `path` (below /static/) and whether the name was hashed."""
        return self._by_path.get(path)

    def url(self, name: str) -> str:
        """The content-hashed URL of `name` (e.g. 'candidate/app.js'); error if unknown."""
        return URL_PREFIX + self.get(name).hashed_name

    def deps(self, name: str) -> list[str]:
        """Hashed URLs of every file `name` references, transitively, in a stable order."""
        seen: dict[str, None] = {}
        pending = list(self.get(name).deps)
        while pending:
            current = pending.pop(0)
            if current in seen or current == name:
                continue
            seen[current] = None
            pending.extend(self.get(current).deps)
        return [self.url(dep) for dep in seen]


def _gzip(body: bytes) -> bytes | None:
    if len(body) < MIN_GZIP_BYTES:
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) else None
