"""`cbt-server item-bank`: import, validate, assemble, and seal item banks from the command line.

The group works on its own (the library needs no server). On its own, `import` checks
files like `validate` does; the server makes it store items by installing a hook:

    from item_bank.cli import install_store_hook
    install_store_hook(ctx, store_items)   # store_items(items: list[Item]) -> None

The hook must store all items or none (raise to refuse). User errors print a message and
exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click

from item_bank import catalogue
from item_bank.assembly import AssemblyError, assemble_many, check_feasible
from item_bank.blueprint import BlueprintError, load_blueprint
from item_bank.clierror import CliError
from item_bank.importers import (
    FORMATS,
    BankImport,
    Classification,
    ImportIssue,
    blueprint_paths,
    expand_paths,
    import_paths,
    is_blueprint_file,
)
from item_bank.importers import Format as ImportFormat
from item_bank.importers.base import reason_of
from item_bank.model import Blueprint, Item
from item_bank.seal import (
    SealError,
    generate_keys,
    key_id,
    load_aes_key,
    load_signing_key,
    load_verify_key,
    read_header,
    seal,
    signer_id,
    unseal,
)

STORE_HOOK_KEY = "item_bank.store_items"
StoreItems = Callable[[list[Item]], None]
MAX_PACKAGE_BYTES = 1024 * 1024 * 1024

WINDOW_FORMATS = ["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]


def install_store_hook(ctx: click.Context, store_items: StoreItems) -> None:
    """Make `import` store accepted items through `store_items` (called once per run)."""
    ctx.meta[STORE_HOOK_KEY] = store_items


class Rejected(CliError):
    """Exit 1 after a report was printed; quiet when the report was JSON.

    Raised rather than `ctx.exit(1)` so the exit code survives a parent CLI that runs
    click with standalone_mode=False and maps ClickException to its exit code.
    """

    def __init__(self, message: str, *, quiet: bool) -> None:
        super().__init__(message)
        self.quiet = quiet

    def show(self, file: Any = None) -> None:
        if not self.quiet:
            super().show(file)


@click.group("item-bank", context_settings={"help_option_names": ["-h", "--help"]})
def item_bank_group() -> None:
    """题库 Item bank: import and check items, assemble papers, seal packages.

    File formats are described in docs/item-format.md.
    """


def _classification_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The import options; the command gets one `classification` for the four fields."""

    @functools.wraps(command)
    def with_classification(
        *args: Any,
        occupation: str | None,
        level: str | None,
        knowledge_point: str | None,
        difficulty: int | None,
        **kwargs: Any,
    ) -> Any:
        classification = _classification(occupation, level, knowledge_point, difficulty)
        return command(*args, classification=classification, **kwargs)

    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="auto",
            show_default=True,
            help="Importer to use; auto picks by file suffix "
            "(.yaml/.yml/.json native, .xlsx, .csv, .xml/.zip QTI).",
        ),
        click.option(
            "--occupation",
            help="Occupation (code or Chinese name) for items whose file does not say "
            "(spreadsheets without 职业, QTI).",
        ),
        click.option("--level", help="Level (1..5 or name such as 高级) likewise."),
        click.option("--knowledge-point", help="Knowledge-point code likewise."),
        click.option("--difficulty", type=click.IntRange(1, 5), help="Difficulty likewise."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON report object."),
    ]
    wrapped: Callable[..., Any] = with_classification
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def _classification(
    occupation: str | None, level: str | None, knowledge_point: str | None, difficulty: int | None
) -> Classification:
    try:
        code = catalogue.occupation(occupation).code if occupation else None
    except catalogue.UnknownOccupation as exc:
        raise click.BadParameter(str(exc), param_hint="--occupation") from None
    try:
        number = catalogue.level(level) if level else None
    except catalogue.UnknownLevel as exc:
        raise click.BadParameter(str(exc), param_hint="--level") from None
    return Classification(code, number, knowledge_point or None, difficulty)


@item_bank_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_classification_options
@click.option("--dry-run", is_flag=True, help="Check everything but store nothing.")
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    classification: Classification,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Import item files and folders (a file with any error imports nothing).

    Exits 0 when every file was accepted, 1 when any was rejected. Without a server
    (no item store configured) this only checks the files, like `validate`.
    """
    report = import_paths(paths, cast(ImportFormat, fmt), classification)
    hook = cast("StoreItems | None", ctx.meta.get(STORE_HOOK_KEY))
    store_error: ImportIssue | None = None
    stored = False
    if hook is not None and not dry_run and report.items:
        try:
            hook(report.items)
            stored = True
        except Exception as exc:  # noqa: BLE001 - the hook is the server's; report, don't crash
            store_error = ImportIssue(
                "(item store)", "", f"storing failed, nothing stored: {reason_of(exc)}"
            )
    if as_json:
        data = report.to_json()
        if store_error is not None:
            data = {"imported": [], "rejected": [*data["rejected"], store_error.to_dict()]}
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        _print_report(report)
        if store_error is not None:
            click.echo(f"error: {store_error.reason}", err=True)
        elif stored:
            click.echo(f"stored {len(report.items)} item(s)")
        elif dry_run:
            click.echo("dry run: nothing was stored")
        elif hook is None:
            click.echo("no item store configured: files were validated only, nothing was stored")
    if not report.ok or store_error is not None:
        raise Rejected(_rejected_summary(report, store_error is not None), quiet=as_json)


@item_bank_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_classification_options
@click.pass_context
def validate_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    classification: Classification,
    as_json: bool,
) -> None:
    """Check item files, folders and blueprints without storing anything.

    Blueprints found among PATHS are checked too, and against the items found: a
    blueprint the items cannot satisfy is an error. Exits 1 on any problem.
    """
    item_files = [p for p in expand_paths(paths) if not is_blueprint_file(p)]
    report = import_paths(item_files, cast(ImportFormat, fmt), classification)
    blueprint_issues: list[ImportIssue] = []
    checked: list[str] = []
    for path in blueprint_paths(paths):
        try:
            blueprint = load_blueprint(path)
        except BlueprintError as exc:
            blueprint_issues += [ImportIssue(str(path), where, why) for where, why in exc.problems]
            continue
        shortages = check_feasible(report.items, blueprint)
        blueprint_issues += [
            ImportIssue(str(path), f"cell {s.section_type}/{s.knowledge_point}/{s.band}", str(s))
            for s in shortages
        ]
        if not shortages:
            checked.append(blueprint.id)
    if as_json:
        data = report.to_json()
        data["rejected"] += [issue.to_dict() for issue in blueprint_issues]
        data["blueprints"] = checked
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        _print_report(report)
        for issue in blueprint_issues:
            click.echo(f"  ✗ {issue}")
        for blueprint_id in checked:
            click.echo(f"✓ blueprint {blueprint_id}: the items satisfy every cell")
    if not report.ok or blueprint_issues:
        summary = _rejected_summary(report, False)
        if blueprint_issues:
            summary += f"; {len(blueprint_issues)} blueprint problem(s)"
        raise Rejected(summary, quiet=as_json)


def _rejected_summary(report: BankImport, store_failed: bool) -> str:
    rejected = sum(1 for result in report.results if not result.ok)
    text = f"{rejected} file(s) rejected"
    return text + "; storing failed" if store_failed else text


def _print_report(report: BankImport) -> None:
    for result in report.results:
        if result.ok:
            click.echo(f"✓ {result.source}: {len(result.items)} item(s)")
        else:
            click.echo(f"✗ {result.source}: rejected, nothing imported from this file")
            for issue in result.errors:
                where = f"{issue.location}: " if issue.location else ""
                click.echo(f"    {where}{issue.reason}")
        for warning in result.warnings:
            click.echo(f"    warning: {warning.location}: {warning.reason}", err=True)
    rejected = sum(1 for result in report.results if not result.ok)
    click.echo(
        f"{len(report.items)} item(s) accepted from {len(report.results) - rejected} file(s); "
        f"{rejected} file(s) rejected"
    )


def _load_bank(paths: Sequence[str | Path]) -> list[Item]:
    report = import_paths(paths)
    if not report.results:
        raise CliError(f"no item files found in {', '.join(map(str, paths))}")
    if not report.ok:
        lines = "\n".join(f"  {issue}" for issue in report.errors[:20])
        more = len(report.errors) - 20
        raise CliError(
            "the bank has errors; fix them first:\n"
            + lines
            + (f"\n  … and {more} more" if more > 0 else "")
        )
    return report.items


def _load_blueprint(path: str | Path) -> Blueprint:
    try:
        return load_blueprint(path)
    except BlueprintError as exc:
        raise CliError(f"blueprint rejected:\n{exc}") from None


def _default_bank(blueprint_path: Path) -> list[Path]:
    """The blueprint's folder, or its parent when the folder is called `blueprints`."""
    folder = blueprint_path.parent
    return [folder.parent if folder.name == "blueprints" else folder]


@item_bank_group.command("assemble")
@click.option("--blueprint", "blueprint_file", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--bank",
    "banks",
    multiple=True,
    type=click.Path(),
    help="Item file or folder (repeatable). Default: the blueprint's folder, or its "
    "parent when that folder is called 'blueprints'.",
)
@click.option("--candidates", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--seed", required=True, help="Any text; the same seed gives the same papers.")
@click.option("--candidate-prefix", default="candidate-", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the papers as one JSON object.")
def assemble_command(
    blueprint_file: str,
    banks: tuple[str, ...],
    candidates: int,
    seed: str,
    candidate_prefix: str,
    as_json: bool,
) -> None:
    """Draw one paper per candidate (keys PREFIX0001, PREFIX0002, …), all different."""
    blueprint = _load_blueprint(blueprint_file)
    bank = _load_bank(list(banks) or _default_bank(Path(blueprint_file)))
    keys = [f"{candidate_prefix}{n:04d}" for n in range(1, candidates + 1)]
    try:
        papers = assemble_many(bank, blueprint, seed, keys)
    except AssemblyError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        out = {
            "blueprint": blueprint.id,
            "seed": seed,
            "papers": [{"candidate": key, **paper.to_dict()} for key, paper in papers.items()],
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"blueprint {blueprint.id}: {blueprint.title}, {blueprint.item_count} items")
    for key, paper in papers.items():
        counts = ", ".join(f"{s.type} {len(s.items)}" for s in paper.sections)
        click.echo(f"  {key}: paper {paper.paper_id} ({counts})")
    used = {item_id for paper in papers.values() for item_id in paper.item_ids}
    click.echo(
        f"{len(papers)} different paper(s) from a bank of {len(bank)} items; "
        f"{len(used)} distinct items used"
    )


@item_bank_group.command("keygen")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def keygen_command(out_dir: str) -> None:
    """Create a content key and an Ed25519 signing key pair in OUT (never overwrites)."""
    try:
        files = generate_keys(out_dir)
    except SealError as exc:
        raise CliError(str(exc)) from None
    aes = load_aes_key(files.aes_key)
    verify = load_verify_key(files.verify_key)
    click.echo(f"content key  {files.aes_key}  (id {key_id(aes)}; secret)")
    click.echo(f"signing key  {files.signing_key}  (id {signer_id(verify)}; secret, stays here)")
    click.echo(f"verify key   {files.verify_key}  (public; give to lab servers)")


@item_bank_group.command("seal")
@click.option("--bank", "banks", multiple=True, required=True, type=click.Path())
@click.option("--blueprint", "blueprint_files", multiple=True, type=click.Path(dir_okay=False))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False))
@click.option("--signing-key", "signing_file", required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option("--creator", default=None, help="Name recorded in the manifest (default: OS user).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option(
    "--not-before",
    type=click.DateTime(WINDOW_FORMATS),
    help="Validity window start, with offset (e.g. 2026-12-05T08:00+0800): a formal "
    "session on this package is scheduled and started inside the window.",
)
@click.option("--not-after", type=click.DateTime(WINDOW_FORMATS), help="Validity window end.")
def seal_command(
    banks: tuple[str, ...],
    blueprint_files: tuple[str, ...],
    key_file: str,
    signing_file: str,
    out_file: str,
    creator: str | None,
    force: bool,
    not_before: datetime | None,
    not_after: datetime | None,
) -> None:
    """Write an encrypted, signed package of items (and blueprints) to OUT.

    Every item file must be valid and every blueprint satisfiable by the items.
    """
    out = Path(out_file)
    if out.exists() and not force:
        raise CliError(f"{out} exists (use --force to overwrite)")
    try:
        aes = load_aes_key(key_file)
        signing = load_signing_key(signing_file)
    except SealError as exc:
        raise CliError(str(exc)) from None
    items = _load_bank(banks)
    blueprints = [_load_blueprint(path) for path in blueprint_files]
    for blueprint in blueprints:
        shortages = check_feasible(items, blueprint)
        if shortages:
            lines = "\n".join(f"  - {s}" for s in shortages)
            raise CliError(f"the items cannot satisfy blueprint {blueprint.id}:\n{lines}")
    try:
        package = seal(
            items,
            blueprints,
            aes,
            signing,
            creator=creator or _os_user(),
            not_before=not_before,
            not_after=not_after,
        )
    except SealError as exc:
        raise CliError(str(exc)) from None
    _write_atomically(out, package)
    click.echo(
        f"sealed {len(items)} item(s) and {len(blueprints)} blueprint(s) into {out} "
        f"({len(package)} bytes, content key {key_id(aes)}, signer "
        f"{signer_id(signing.public_key())})"
    )


def _os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command("inspect")
@click.argument("package", type=click.Path(dir_okay=False))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False))
@click.option("--verify-key", "verify_file", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def inspect_command(package: str, key_file: str, verify_file: str, as_json: bool) -> None:
    """Verify and open a sealed package and print its manifest (never item content)."""
    try:
        path = Path(package)
        if path.stat().st_size > MAX_PACKAGE_BYTES:
            raise CliError(f"{package} is larger than {MAX_PACKAGE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {package}: {exc.strerror or exc}") from None
    try:
        aes = load_aes_key(key_file)
        verify = load_verify_key(verify_file)
        header = read_header(data)
        _, _, manifest = unseal(data, aes, verify)
    except SealError as exc:
        raise CliError(f"{package}: {exc}") from None
    if as_json:
        click.echo(json.dumps(manifest.to_dict(), ensure_ascii=False))
        return
    click.echo(f"package {manifest.package_id}: signature and content verified")
    click.echo(f"  created    {manifest.created_at} by {manifest.creator or '(unknown)'}")
    click.echo(f"  keys       content {header.key_id}, signer {header.signer_id}")
    click.echo(f"  items      {manifest.item_count}")
    for group, by_type in sorted(manifest.counts.items()):
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(by_type.items()))
        click.echo(f"    {group}: {detail}")
    click.echo(f"  blueprints {', '.join(manifest.blueprint_ids) or '(none)'}")
    if manifest.not_before or manifest.not_after:
        click.echo(f"  valid      {manifest.not_before or '…'} to {manifest.not_after or '…'}")


item_bank_group.add_command(inspect_command, "inspect")
item_bank_group.add_command(inspect_command, "unseal")
