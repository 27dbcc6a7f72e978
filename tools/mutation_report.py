"""The mutation score of the pure core, per module, from the results `mutmut run` left.

Run from the repository root after `mutmut run` (`make mutation` does both). Mutants that
only change the text of an error message are counted apart: they are not logic, and a
test pinning every message word for word would be worse than none. A mutant is message
text when all it changes is a string (or an f-string, or a string put in its place) that
is an argument of the exception in a `raise`, or any argument at a position listed in
MESSAGE_ARGUMENTS (parameters that only end up in a message).

Every other survivor must be named in docs/testing.md with the reason it is equivalent;
the report lists those that are not, and exits 1 if there are any.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# (called function, argument index) of parameters used only in an error message: the
# clock's `_require_aware(moment, what)`, the state machine's `_refuse(what, state)` and
# `_move(state, allowed, to, what)`.
MESSAGE_ARGUMENTS = {("_require_aware", 1), ("_refuse", 0), ("_move", 3)}
DETECTED = {"killed", "timeout", "caught by type check"}
STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests"}
STATUS_BY_EXIT_CODE |= {34: "skipped", 36: "timeout", 37: "caught by type check"}
STATUS_BY_EXIT_CODE |= {24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
DOC = Path("docs/testing.md")


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's name, e.g. cbt_server.exam.clock.x_elapsed__mutmut_8
    path: str
    status: str
    message_only: bool
    line: int
    before: str
    after: str

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[1]


def _status(exit_code: int | None) -> str:
    if exit_code is None:
        return "not checked"
    return STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    found: dict[str, ast.FunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
    return found


def _differences(
    a: ast.AST, b: ast.AST, ancestors: tuple[ast.AST, ...] = ()
) -> Iterator[tuple[ast.AST, tuple[ast.AST, ...]]]:
    """The smallest subtrees of `a` that differ from `b`, each with its ancestors."""
    if type(a) is not type(b):
        yield a, ancestors
        return
    for field, value in ast.iter_fields(a):
        other = getattr(b, field, None)
        if isinstance(value, list):
            if not isinstance(other, list) or len(value) != len(other):
                yield a, ancestors
                return
            for x, y in zip(value, other, strict=True):
                if isinstance(x, ast.AST) and isinstance(y, ast.AST):
                    yield from _differences(x, y, (*ancestors, a))
                elif x != y:
                    yield a, ancestors
                    return
        elif isinstance(value, ast.AST) and isinstance(other, ast.AST):
            yield from _differences(value, other, (*ancestors, a))
        elif value != other or type(value) is not type(other):
            yield a, ancestors
            return


def _is_text(node: ast.AST) -> bool:
    # A string or f-string swapped whole, or a string inside one (a separator): the mutant
    # still raises the same error, with other words. A changed expression inside an
    # f-string (`", ".join(None)`) is logic: it raises something else.
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _in_raise(ancestors: tuple[ast.AST, ...]) -> bool:
    return any(isinstance(a, ast.Raise) for a in ancestors)


def _in_message_argument(node: ast.AST, ancestors: tuple[ast.AST, ...]) -> bool:
    chain = (*ancestors, node)
    for call, child in zip(chain, chain[1:], strict=False):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            for index, argument in enumerate(call.args):
                if argument is child and (call.func.id, index) in MESSAGE_ARGUMENTS:
                    return True
    return False


def _message_only(original: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    differences = [
        *_differences(original.args, mutant.args),
        *_differences(ast.Module(original.body, []), ast.Module(mutant.body, [])),
    ]
    return bool(differences) and all(
        (_is_text(node) and _in_raise(ancestors)) or _in_message_argument(node, ancestors)
        for node, ancestors in differences
    )


def _first_changed_line(original: list[str], mutant: list[str]) -> tuple[int, str, str]:
    """The first line (as an offset from the `def`) where the mutant's body differs."""
    for offset, (old, new) in enumerate(zip(original, mutant, strict=False)):
        if offset and old != new:
            return offset, old.strip(), new.strip()
    offset = min(len(original), len(mutant)) - 1
    return offset, original[offset].strip(), mutant[offset].strip()


def _lines(lines: list[str], node: ast.FunctionDef) -> list[str]:
    return lines[node.lineno - 1 : node.end_lineno]


def mutants_of(path: str) -> list[Mutant]:
    meta = json.loads(Path("mutants", path + ".meta").read_text(encoding="utf-8"))
    mutated_source = Path("mutants", path).read_text(encoding="utf-8").splitlines()
    functions = _functions(ast.parse("\n".join(mutated_source)))
    plain = _functions(ast.parse(Path(path).read_text(encoding="utf-8")))
    module = path.removesuffix(".py").replace("/", ".")
    result = []
    for name, exit_code in sorted(meta["exit_code_by_key"].items()):
        function = name.removeprefix(module + ".")
        base = function.rsplit("__mutmut_", 1)[0]  # x_name, or xǁClassǁmethod
        mutant, original = functions[function], functions[base + "__mutmut_orig"]
        offset, before, after = _first_changed_line(
            _lines(mutated_source, original), _lines(mutated_source, mutant)
        )
        # The line in the unmutated file, from its offset within the function.
        unmutated = plain.get(base.split("ǁ")[2] if "ǁ" in base else base.removeprefix("x_"))
        result.append(
            Mutant(
                name=name,
                path=path,
                status=_status(exit_code),
                message_only=_message_only(original, mutant),
                line=0 if unmutated is None else unmutated.lineno + offset,
                before=before,
                after=after,
            )
        )
    return result


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _listed(mutant: Mutant, doc_text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(mutant.short_name)}(?!\w)", doc_text) is not None


def report(paths: list[str], doc_text: str) -> int:
    """Print the score per module; 1 if a survivor is not explained in docs/testing.md."""
    unexplained: list[Mutant] = []
    print(
        f"{'module':<28} {'score':>7} {'killed':>7} {'survived':>9} {'equivalent':>11}"
        "   message text (apart)"
    )
    rows = [(path, mutants_of(path)) for path in paths]
    for path, mutants in [*rows, ("pure core", [m for _, ms in rows for m in ms])]:
        logic = [m for m in mutants if not m.message_only]
        text = [m for m in mutants if m.message_only]
        killed = sum(m.status in DETECTED for m in logic)
        survivors = [m for m in logic if m.status not in DETECTED]
        equivalent = sum(_listed(m, doc_text) for m in survivors)
        text_killed = sum(m.status in DETECTED for m in text)
        print(
            f"{path:<28} {_percent(killed, len(logic)):>7} {killed:>7} {len(survivors):>9} "
            f"{equivalent:>11}   {text_killed}/{len(text)} killed"
        )
        if path != "pure core":
            unexplained += [m for m in survivors if not _listed(m, doc_text)]
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutant(s) not listed as equivalent in {DOC}:")
        for mutant in unexplained:
            print(f"  {mutant.path}:{mutant.line} {mutant.short_name} ({mutant.status})")
            print(f"      - {mutant.before}\n      + {mutant.after}")
        return 1
    return 0


def main() -> int:
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    paths = config["tool"]["mutmut"]["only_mutate"]
    doc_text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    return report(paths, doc_text)


if __name__ == "__main__":
    sys.exit(main())
