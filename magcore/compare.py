"""Compare two stores variable by variable: are they the same bits, and if not, by how much
do they differ?  ``magcore compare A.zarr B.zarr`` prints it; used to check that a refactor or
an interrupted run kept the results.

``magcore compare-revisions REV [--against REV2|worktree]`` checks a whole change: it builds the
shipped studies (``SHIPPED_CONFIGS``) with Snakemake in a git worktree of each revision (or a
copy of the working tree), each importing its own tree's magcore, compares every store under
``results/`` and removes the trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class VariableDifference:
    """How one variable differs between two stores.

    ``state``: "identical" (same shape, same bits, NaN in the same places, same attributes),
    "attributes" (same bits, but attributes such as units or long_name differ), "entries" (a
    non-float variable with different entries; ``detail`` counts them), "only in A",
    "only in B", "shape" (different dims or sizes), "nan pattern" (NaN in different places) or
    "values"; for "values", the largest absolute difference and the largest difference relative
    to the variable's largest magnitude in A (0 and 0 when only the signs of zeros differ).
    """

    name: str
    state: str
    max_abs: float = 0.0
    max_rel: float = 0.0
    detail: str = ""

    def line(self) -> str:
        if self.state == "entries":
            return f"{self.name:<45} differs: {self.detail}"
        if self.state == "attributes":
            return f"{self.name:<45} same values, attributes differ: {self.detail}"
        if self.state == "values" and self.max_abs == 0:
            return f"{self.name:<45} differs only in the sign of zeros (-0.0 vs 0.0)"
        if self.state == "values":
            return f"{self.name:<45} differs: max |A-B| = {self.max_abs:.3g}, relative to max |A| {self.max_rel:.3g}"
        return f"{self.name:<45} {self.state}"


def _difference(name: str, a: xr.DataArray, b: xr.DataArray) -> VariableDifference:
    if a.dims != b.dims or a.shape != b.shape:
        return VariableDifference(name, "shape")
    x, y = np.asarray(a.values), np.asarray(b.values)
    if x.dtype.kind not in "fc":
        if np.array_equal(x, y):
            return VariableDifference(name, "identical")
        return VariableDifference(name, "entries", detail=f"{int((x != y).sum())} of {x.size} entries differ")
    nx, ny = np.isnan(x), np.isnan(y)
    if not np.array_equal(nx, ny):
        return VariableDifference(name, "nan pattern")
    ok = ~nx
    if np.array_equal(x[ok], y[ok]) and np.array_equal(np.signbit(x[ok]), np.signbit(y[ok])):
        return VariableDifference(name, "identical")
    diff = np.abs(x[ok] - y[ok])
    scale = np.max(np.abs(x[ok])) if ok.any() else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    return VariableDifference(name, "values", max_abs, max_abs / scale if scale > 0 else float("inf"))


def compare_stores(a: str | Path, b: str | Path) -> list[VariableDifference]:
    """Every data variable and coordinate of the stores ``a`` and ``b``, compared."""
    da, db = xr.open_zarr(a), xr.open_zarr(b)
    names = sorted(set(da.variables) | set(db.variables))
    out = []
    for name in names:
        if name not in db.variables:
            out.append(VariableDifference(name, "only in A"))
        elif name not in da.variables:
            out.append(VariableDifference(name, "only in B"))
        else:
            diff = _difference(name, da[name], db[name])
            if diff.state == "identical" and da[name].attrs != db[name].attrs:
                keys = sorted(k for k in set(da[name].attrs) | set(db[name].attrs)
                              if str(da[name].attrs.get(k)) != str(db[name].attrs.get(k)))
                diff = VariableDifference(name, "attributes", detail=", ".join(keys))
            out.append(diff)
    return out


def report(a: str | Path, b: str | Path, *, show_identical: bool = False) -> tuple[str, bool]:
    """Text report of :func:`compare_stores` and whether the stores hold the same bits."""
    diffs = compare_stores(a, b)
    same = all(d.state == "identical" for d in diffs)
    n_same = sum(d.state == "identical" for d in diffs)
    lines = [f"{a} vs {b}: {n_same} of {len(diffs)} variables identical"]
    lines += [d.line() for d in diffs if show_identical or d.state != "identical"]
    return "\n".join(lines), same


# ------------------------------------------------------------------------------------------
# building the shipped studies at two revisions and comparing every store
# ------------------------------------------------------------------------------------------

SHIPPED_CONFIGS = ("config/config.yaml", "config/wte2.yaml", "config/ti_edge_llg.yaml")
WORKING_TREE = "worktree"
_DEFAULT_CONFIG = "config/config.yaml"  # the study the Snakefile runs without --configfile


@dataclass(frozen=True)
class StoreComparison:
    """One store of a study built at two revisions: ``path`` relative to the tree,
    ``diffs`` from :func:`compare_stores` (None when the store exists in one tree only;
    ``missing`` then says which)."""

    path: str
    diffs: tuple[VariableDifference, ...] | None
    missing: str = ""

    def same(self, common_only: bool = False) -> bool:
        """Whether the store holds the same bits in both trees (with ``common_only``: in the
        variables both trees have)."""
        if self.diffs is None:
            return False
        return all(d.state == "identical" or (common_only and d.state.startswith("only in"))
                   for d in self.diffs)

    def lines(self, common_only: bool = False) -> list[str]:
        """A headline for the store, then one indented line per differing variable and one
        line each for the variables that only one tree has."""
        if self.diffs is None:
            return [f"{self.path:<45} {self.missing}"]
        n = len(self.diffs)
        changed = [d for d in self.diffs if d.state not in ("identical", "only in A", "only in B")]
        only_a = [d.name for d in self.diffs if d.state == "only in A"]
        only_b = [d.name for d in self.diffs if d.state == "only in B"]
        n_same = n - len(changed) - len(only_a) - len(only_b)
        if self.same(common_only):
            head = f"{self.path:<45} identical: {n_same} of {n} variables"
            if only_a or only_b:
                head += f" (the rest in one tree only: {len(only_a)} removed, {len(only_b)} added)"
        else:
            parts = [f"{n_same} identical"] + [f"{len(x)} {what}" for x, what in
                                                ((changed, "differ"), (only_a, "removed"), (only_b, "added")) if x]
            head = f"{self.path:<45} DIFFERS: " + ", ".join(parts) + f" of {n} variables"
        out = [head] + ["    " + d.line() for d in changed]
        if only_a:
            out.append("    removed (only in A): " + ", ".join(only_a))
        if only_b:
            out.append("    added (only in B): " + ", ".join(only_b))
        return out


def find_stores(tree: str | Path) -> list[str]:
    """Paths (relative to ``tree``, sorted) of the ``*.zarr`` stores under ``tree/results``."""
    root = Path(tree)
    stores = [p for p in (root / "results").rglob("*.zarr") if p.is_dir()]
    outermost = [p for p in stores if not any(q in p.parents for q in stores)]
    return sorted(str(p.relative_to(root)) for p in outermost)


def compare_trees(tree_a: str | Path, tree_b: str | Path) -> list[StoreComparison]:
    """Every store under ``results/`` of two built trees, compared variable by variable."""
    in_a, in_b = set(find_stores(tree_a)), set(find_stores(tree_b))
    out = []
    for path in sorted(in_a | in_b):
        if path not in in_b:
            out.append(StoreComparison(path, None, "only in A"))
        elif path not in in_a:
            out.append(StoreComparison(path, None, "only in B"))
        else:
            out.append(StoreComparison(path, tuple(compare_stores(Path(tree_a, path), Path(tree_b, path)))))
    return out


def _git(repo: str | Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _copy_working_tree(repo: Path, dest: Path) -> None:
    """Copy the working tree's files (tracked, and untracked but not ignored) to ``dest``."""
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = repo / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def check_out(repo: str | Path, revision: str, dest: str | Path) -> str:
    """Put the files of ``revision`` (any git revision, or ``"worktree"``: the working tree
    with its uncommitted changes) at ``dest``; return a label of what was checked out."""
    repo, dest = Path(repo), Path(dest)
    if revision == WORKING_TREE:
        dest.mkdir(parents=True)
        _copy_working_tree(repo, dest)
        return f"working tree of {repo} (on {_git(repo, 'rev-parse', '--short', 'HEAD').strip()})"
    _git(repo, "worktree", "add", "--detach", str(dest), revision)
    return f"{revision} ({_git(dest, 'rev-parse', '--short', 'HEAD').strip()})"


def remove_checkout(repo: str | Path, dest: str | Path) -> None:
    """Remove a tree made by :func:`check_out` (a git worktree is unregistered too)."""
    dest = Path(dest)
    if (dest / ".git").is_file():
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(dest)], capture_output=True)
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True)


def tree_environment(tree: str | Path) -> dict[str, str]:
    """Environment that makes Python import magcore from ``tree`` (first on PYTHONPATH)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(tree).resolve()), env.get("PYTHONPATH")]))
    return env


def imported_magcore(tree: str | Path) -> Path:
    """The magcore package a process started in ``tree`` with :func:`tree_environment` imports;
    raises if it is not the tree's own."""
    tree = Path(tree).resolve()
    done = subprocess.run([sys.executable, "-c", "import magcore; print(magcore.__file__)"], cwd=tree,
                          env=tree_environment(tree), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"cannot import magcore in {tree}: {done.stderr.strip()}")
    package = Path(done.stdout.strip()).resolve().parent
    if package != tree / "magcore":
        raise RuntimeError(f"a process in {tree} imports magcore from {package}, not from the tree")
    return package


def build_studies(tree: str | Path, configs=SHIPPED_CONFIGS, cores: int = 2,
                  log=print) -> dict[str, str | None]:
    """Run ``python -m snakemake --cores N [--configfile C]`` in ``tree`` for every study file
    of ``configs`` (the default study without --configfile, as a user runs it), with the tree's
    magcore.  Returns config -> None, or the tail of Snakemake's output if it failed."""
    tree = Path(tree).resolve()
    log(f"  magcore imported from {imported_magcore(tree)}")
    outcome: dict[str, str | None] = {}
    for config in configs:
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
        if config != _DEFAULT_CONFIG:
            cmd += ["--configfile", config]
        started = time.monotonic()
        output = tree / f"build_{Path(config).stem}.log"
        with open(output, "w") as out:
            rc = subprocess.run(cmd, cwd=tree, env=tree_environment(tree), stdout=out,
                                stderr=subprocess.STDOUT).returncode
        outcome[config] = None if rc == 0 else "\n".join(output.read_text().splitlines()[-30:])
        log(f"  {config}: {'built' if rc == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return outcome


def compare_revisions(revision: str, against: str = WORKING_TREE, *, repo: str | Path = ".",
                      configs=SHIPPED_CONFIGS, cores: int = 2, common_only: bool = False,
                      keep: str | Path | None = None, build=build_studies, log=print) -> int:
    """Build the studies ``configs`` at ``revision`` (A) and at ``against`` (B: a revision or
    ``"worktree"``), each in a fresh tree in a temporary folder, and compare every store under
    ``results/``.  Logs one headline per store (details of differing variables indented);
    returns 0 if every store holds the same bits in both trees (with ``common_only``: in the
    variables both have), 1 otherwise, 2 if a build failed.  The trees are removed unless
    ``keep`` names a folder to build them in (kept for inspection)."""
    repo = Path(_git(repo, "rev-parse", "--show-toplevel").strip())
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="magcore-compare-"))
    trees = {"A": base / "A", "B": base / "B"}
    try:
        for key, rev in (("A", revision), ("B", against)):
            log(f"{key}: {check_out(repo, rev, trees[key])} in {trees[key]}")
            failed = {config: tail for config, tail in build(trees[key], configs, cores, log=log).items() if tail}
            for config, tail in failed.items():
                log(f"{key}: building {config} failed; the end of Snakemake's output:\n{tail}")
            if failed:
                return 2
        comparisons = compare_trees(trees["A"], trees["B"])
        for c in comparisons:
            log("\n".join(c.lines(common_only)))
        n_same = sum(c.same(common_only) for c in comparisons)
        log(f"{n_same} of {len(comparisons)} stores identical"
            + (" in the variables both trees have" if common_only else ""))
        return 0 if comparisons and n_same == len(comparisons) else 1
    finally:
        if not keep:
            for tree in trees.values():
                remove_checkout(repo, tree)
            shutil.rmtree(base, ignore_errors=True)
