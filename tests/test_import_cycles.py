"""No import cycle anywhere in inspector/: each module can be read, tested and moved
after the modules it imports, never together with them.

Imports made only under ``if TYPE_CHECKING:`` count. They do not run, but they are
dependencies all the same: a module whose annotations name another module's classes
cannot be understood, type-checked or moved without it, and such an import is the usual
way a real cycle is hidden rather than removed. Imports inside functions count too (they
are how a cycle is postponed to run time).
"""

from __future__ import annotations

import itertools

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        # Iterative depth-first search: (module, the modules it imports still to visit).
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            step = next(pending, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = counter
                    counter += 1
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.find_modules_directly_imported_by(step)))))
                elif step in on_stack:
                    low[module] = min(low[module], index[step])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    """One cycle of the group as ``a -> b -> a`` with the lines that import, and the
    group's other members when it has more."""
    first = group[0]
    back = min(
        (graph.find_shortest_chain(other, first) or () for other in group[1:]),
        key=lambda chain: len(chain) or 1_000,
    )
    forth = graph.find_shortest_chain(first, back[0]) if back else None
    chain = list(forth or (first,)) + list(back[1:])
    lines = []
    for importer, imported in itertools.pairwise(chain):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}" for d in details) or "?"
        lines.append(f"    {importer} imports {imported} ({where})")
    others = sorted(set(group) - set(chain))
    if others:
        lines.append(f"    (the same group holds {', '.join(others)})")
    return " -> ".join(chain) + "\n" + "\n".join(lines)


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b", line_number=3, line_contents="")
    graph.add_import(importer="pkg.b", imported="pkg.a", line_number=7, line_contents="")
    graph.add_import(importer="pkg.c", imported="pkg.a", line_number=1, line_contents="")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]
    described = _describe(graph, ["pkg.a", "pkg.b"])
    assert described.startswith("pkg.a -> pkg.b -> pkg.a")
    assert "pkg.b imports pkg.a (line 7)" in described


def test_no_import_cycle_in_inspector() -> None:
    graph = grimp.build_graph("inspector", exclude_type_checking_imports=False, cache_dir=None)
    cycles = [_describe(graph, group) for group in _cycles(graph)]
    assert not cycles, "import cycles in inspector/:\n" + "\n".join(cycles)
