"""Import cycles between the apps, found with grimp (the graph import-linter builds).

    .venv/bin/python -m tests._import_cycles            # what the test asserts
    .venv/bin/python -m tests._import_cycles --strict   # without the listed exceptions

Two questions, both answered on the modules of the apps named in pyproject.toml's
``[tool.importlinter] root_packages``, migrations left out:

* which modules of different apps import one another in a circle (a strongly connected
  set of modules spanning two apps or more), with one such circle spelled out;
* which imports grimp would remove to make the apps themselves acyclic (an app-level
  cycle needs no module-level one: ``a.x -> b.y`` and ``b.z -> a.w`` are enough).

By default the imports the layers contract lists in ``ignore_imports`` are left out too,
as ``lint-imports`` does; ``--strict`` keeps them, to show what is left to untangle.
"""

import sys
import tomllib
from pathlib import Path

import grimp

BASE_DIR = Path(__file__).resolve().parent.parent


def importlinter_settings() -> dict:
    with open(BASE_DIR / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["importlinter"]


def app_of(module: str) -> str:
    return module.split(".", 1)[0]


def build_graph(*, strict: bool = False):
    """The apps' import graph without migrations and, unless ``strict``, without the
    imports the contracts ignore. Returns (graph, number of imports left out)."""
    settings = importlinter_settings()
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    graph = grimp.build_graph(*settings["root_packages"], cache_dir=None)
    expressions = {
        expression
        for contract in settings.get("contracts", [])
        for expression in contract.get("ignore_imports", [])
        if strict is False or ".migrations." in expression
    }
    removed = 0
    for expression in sorted(expressions):
        for found in graph.find_matching_direct_imports(expression):
            graph.remove_import(importer=found["importer"], imported=found["imported"])
            removed += 1
    for module in [m for m in graph.modules if ".migrations" in m]:
        graph.remove_module(module)
    return graph, removed


def _strongly_connected(graph) -> list[list[str]]:
    """Tarjan's algorithm on the module graph (iterative: no recursion limit)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cross_app_cycles(graph) -> list[tuple[list[str], list[str]]]:
    """For each strongly connected set of modules that spans more than one app: its
    modules and one import circle through them (a list of modules, first repeated last)."""
    cycles = []
    for component in _strongly_connected(graph):
        if len({app_of(m) for m in component}) < 2:
            continue
        members = set(component)
        importer, imported = next(
            (a, b)
            for a in component
            for b in sorted(graph.find_modules_directly_imported_by(a))
            if b in members and app_of(a) != app_of(b)
        )
        back = graph.find_shortest_chain(importer=imported, imported=importer)
        cycles.append((component, [importer, *back]))
    return cycles


def app_cycle_breakers(graph) -> list[tuple[str, str]]:
    """The imports grimp nominates to make the apps, taken as siblings, acyclic."""
    return sorted(graph.nominate_cycle_breakers(*importlinter_settings()["root_packages"]))


def report(*, strict: bool = False) -> tuple[str, bool]:
    """The text the command prints and whether the apps are free of cycles."""
    graph, removed = build_graph(strict=strict)
    cycles = cross_app_cycles(graph)
    breakers = app_cycle_breakers(graph)
    apps = importlinter_settings()["root_packages"]
    lines = [
        f"Apps: {', '.join(apps)}",
        f"{len(graph.modules)} modules, {graph.count_imports()} imports "
        f"({removed} left out: migrations{'' if strict else ' and the contracts ignore_imports'}).",
        f"Import cycles between modules of different apps: {len(cycles) or 'none'}",
    ]
    for component, cycle in cycles:
        apps_in = sorted({app_of(m) for m in component})
        lines.append(f"  {len(component)} modules of {', '.join(apps_in)} import one another; for one:")
        lines.append("    " + " -> ".join(cycle))
    lines.append(f"Imports to remove for the apps to be acyclic: {len(breakers) or 'none'}")
    lines += [f"  {importer} -> {imported}" for importer, imported in breakers]
    return "\n".join(lines), not cycles and not breakers


if __name__ == "__main__":
    text, clean = report(strict="--strict" in sys.argv[1:])
    print(text)
    sys.exit(0 if clean else 1)
