"""The package's import graph has no cycles (module-level and function-level imports alike), and
validating a config imports no numba."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import magcore

ROOT = Path(magcore.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """magcore modules that ``path`` imports anywhere in its body."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in modules and t != name}
    return out


def test_no_import_cycles():
    files = [p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _imports(p, modules) for p in files}
    # a package imports its submodules through its __init__; a submodule importing its own
    # package's face is the normal way back and not counted as a cycle
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not (mod.startswith(d + ".") and d != "magcore")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(mod: str) -> None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(graph.get(mod, ())):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod)


@pytest.mark.parametrize("study", ["config.yaml", "wte2.yaml", "ti_edge_llg.yaml", "tmd_sweep.yaml"])
def test_validating_a_shipped_config_imports_no_numba(study):
    """Checking a config (as the Snakefile does before any job) builds the model and evaluates
    it on a mesh sample in numpy: the compiled kernels, and numba, are not imported."""
    code = ("import sys, magcore.config as c; c.validate(c.load(sys.argv[1])); "
            "assert 'numba' not in sys.modules, sorted(m for m in sys.modules if m.startswith(('numba', 'magcore')))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT.parent), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code, str(ROOT.parent / "config" / study)], cwd=ROOT.parent,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_uncompiled_tmd_hamiltonian_is_the_compiled_one():
    import numpy as np

    from magcore.models import get_model

    model = get_model("tmd", material="MoS2", J=0.3)
    rng = np.random.default_rng(3)
    k, m = rng.uniform(-2, 2, (40, 2)), rng.normal(size=(40, 3))
    np.testing.assert_allclose(model.hamiltonian_uncompiled(k, m), model.hamiltonian(k, m), atol=1e-14)
