"""magcore compare: bitwise equality of two stores, and the size of any difference;
magcore compare-revisions: trees of two revisions, store discovery and the report (Snakemake
replaced by a stand-in that writes stores)."""

import subprocess
from pathlib import Path

import numpy as np
import xarray as xr

from magcore.cli import main as cli_main
from magcore.compare import (check_out, compare_revisions, compare_stores, compare_trees, find_stores,
                             imported_magcore, remove_checkout)


def _store(path, values, extra=None):
    ds = xr.Dataset({"a": ("x", np.asarray(values, dtype=float)), "n": ("x", np.arange(len(values)))})
    if extra:
        ds[extra] = ("x", np.zeros(len(values)))
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    return path


def test_identical_stores_compare_equal_and_differences_are_sized(tmp_path, capsys):
    a = _store(tmp_path / "a.zarr", [1.0, np.nan, -0.0, 4.0])
    assert cli_main(["compare", str(a), str(_store(tmp_path / "b.zarr", [1.0, np.nan, -0.0, 4.0]))]) == 0
    assert "2 of 2 variables identical" in capsys.readouterr().out

    c = _store(tmp_path / "c.zarr", [1.0, np.nan, -0.0, 4.0 + 4e-12], extra="z")
    assert cli_main(["compare", str(a), str(c)]) == 1
    by_name = {d.name: d for d in compare_stores(a, c)}
    assert by_name["a"].state == "values" and np.isclose(by_name["a"].max_rel, 1e-12, rtol=1e-3)
    assert by_name["z"].state == "only in B" and by_name["n"].state == "identical"
    assert {d.state for d in compare_stores(a, _store(tmp_path / "d.zarr", [1.0, 2.0, 0.0, 4.0]))} >= {"nan pattern"}
    assert compare_stores(a, _store(tmp_path / "e.zarr", [1.0, np.nan, 0.0, 4.0]))[0].state == "values"  # -0 vs +0
    f = xr.open_zarr(_store(tmp_path / "f.zarr", [1.0, np.nan, -0.0, 4.0])).load()
    f["a"].attrs["units"] = "eV"
    f.to_zarr(tmp_path / "g.zarr", mode="w", zarr_format=3, consolidated=False)
    assert [(d.state, d.detail) for d in compare_stores(a, tmp_path / "g.zarr") if d.name == "a"] == [("attributes", "units")]


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(tmp_path):
    """A git repository with one commit of a file ``value`` holding 1.0, and 2.0 in the working tree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "value").write_text("1.0")
    (repo / ".gitignore").write_text("results/\n")
    _git(repo, "add", "value", ".gitignore")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    (repo / "value").write_text("2.0")
    (repo / "untracked").write_text("x")
    (repo / "results").mkdir()
    (repo / "results" / "ignored").write_text("x")
    return repo


def _fake_build(tree, configs, cores, log=print):
    """Stand-in for Snakemake: a store holding the tree's ``value``, with a variable more if the
    tree has the file ``untracked``, and a store that is the same in every tree."""
    value = float((Path(tree) / "value").read_text()) if (Path(tree) / "value").exists() else 1.0
    ds = xr.Dataset({"a": ("x", np.full(3, value)), "n": ("x", np.arange(3))})
    if (Path(tree) / "untracked").exists():
        ds["new"] = ("x", np.zeros(3))
    ds.to_zarr(Path(tree) / "results" / "study" / "s.zarr", mode="w", zarr_format=3, consolidated=False)
    same = xr.Dataset({"b": ("x", np.arange(3.0))})
    same.to_zarr(Path(tree) / "results" / "study" / "same.zarr", mode="w", zarr_format=3, consolidated=False)
    return {c: None for c in configs}


def test_check_out_a_revision_or_the_working_tree_and_remove_it(tmp_path):
    repo = _repo(tmp_path)
    assert "one" not in check_out(repo, "HEAD", tmp_path / "rev")
    assert (tmp_path / "rev" / "value").read_text() == "1.0"
    check_out(repo, "worktree", tmp_path / "wt")
    assert (tmp_path / "wt" / "value").read_text() == "2.0" and (tmp_path / "wt" / "untracked").exists()
    assert not (tmp_path / "wt" / "results").exists()  # ignored files stay behind
    remove_checkout(repo, tmp_path / "rev")
    remove_checkout(repo, tmp_path / "wt")
    assert not (tmp_path / "rev").exists() and not (tmp_path / "wt").exists()
    listed = subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1


def test_a_process_in_a_tree_imports_the_trees_magcore(tmp_path):
    (tmp_path / "magcore").mkdir()
    (tmp_path / "magcore" / "__init__.py").write_text("")
    assert imported_magcore(tmp_path) == (tmp_path / "magcore").resolve()


def test_compare_revisions_reports_every_store_and_removes_its_trees(tmp_path):
    repo = _repo(tmp_path)
    lines = []
    rc = compare_revisions("HEAD", "worktree", repo=repo, configs=["c.yaml"], build=_fake_build, log=lines.append)
    text = "\n".join(lines)
    assert rc == 1
    assert "results/study/same.zarr" in text and "identical: 1 of 1 variables" in text
    assert "results/study/s.zarr" in text and "DIFFERS: 1 identical, 1 differ, 1 added of 3 variables" in text
    assert "max |A-B| = 1" in text and "added (only in B): new" in text
    assert "1 of 2 stores identical" in text
    assert not Path(text.splitlines()[0].split(" in ")[-1]).exists()  # the temporary trees are removed
    listed = subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1

    (repo / "value").write_text("1.0")  # the working tree's store differs only by the added variable
    lines.clear()
    assert compare_revisions("HEAD", "worktree", repo=repo, configs=["c.yaml"], build=_fake_build,
                             log=lines.append) == 1
    lines.clear()
    assert compare_revisions("HEAD", "worktree", repo=repo, configs=["c.yaml"], build=_fake_build,
                             log=lines.append, common_only=True) == 0
    assert "2 of 2 stores identical in the variables both trees have" in lines[-1]


def test_stores_of_one_tree_only_and_failed_builds_are_reported(tmp_path):
    _fake_build(tmp_path / "a", ["c.yaml"], 2)
    (tmp_path / "b" / "results").mkdir(parents=True)
    assert find_stores(tmp_path / "a") == ["results/study/s.zarr", "results/study/same.zarr"]
    comparisons = compare_trees(tmp_path / "a", tmp_path / "b")
    assert [(c.path, c.missing, c.same()) for c in comparisons] == [
        ("results/study/s.zarr", "only in A", False), ("results/study/same.zarr", "only in A", False)]

    repo = _repo(tmp_path)
    lines = []
    rc = compare_revisions("HEAD", repo=repo, configs=["c.yaml"], log=lines.append,
                           build=lambda tree, configs, cores, log: {"c.yaml": "snakemake said no"})
    assert rc == 2 and "building c.yaml failed" in "\n".join(lines) and "snakemake said no" in "\n".join(lines)
