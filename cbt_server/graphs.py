"""Strongly connected components of a directed graph (Tarjan's algorithm, iterative).

Used where a graph's cycles matter: the static files' import tree (modules that import
each other share one content hash) and the test that keeps the server's imports acyclic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


def strongly_connected(
    nodes: Iterable[str], edges: Callable[[str], Iterable[str]]
) -> list[list[str]]:
    """Every component of the graph, each sorted, dependencies first; `edges(node)` names
    the nodes `node` points to. Nodes and edges are visited in sorted order, so the
    result does not depend on the order they are given in."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def enter(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return iter(sorted(set(edges(node))))

    for root in sorted(nodes):
        if root in index:
            continue
        # Depth first without recursion: (node, iterator over its edges).
        work: list[tuple[str, Iterator[str]]] = [(root, enter(root))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    work.append((child, enter(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result
