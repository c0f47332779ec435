"""Command line: ``magcore status results/<study>`` tells which stores of a study are complete;
``magcore compare A.zarr B.zarr`` tells whether two stores hold the same bits;
``magcore compare-revisions REV [--against REV2|worktree]`` builds the shipped studies at two
revisions and compares every store."""

from __future__ import annotations

import argparse
import sys

from .store import snakemake_locked, study_status


def _status(study_dir: str) -> int:
    """Print one line per stage; exit 0 if every store present is complete and nothing is
    interrupted (stages the study does not run show as disabled), 1 otherwise, 2 if the folder
    does not exist."""
    try:
        entries = study_status(study_dir)
    except FileNotFoundError as exc:
        print(f"magcore status: {exc}", file=sys.stderr)
        return 2
    hashes = {e.get("config_hash") for e in entries.values() if e.get("config_hash")}
    for stage, e in entries.items():
        extra = ""
        if e["state"] == "complete":
            extra = f"finished {e['finished']}, config {e['config_hash'][:12]}, {e['variables']} variables"
        elif e["state"] == "interrupted":
            total = "?" if e["checkpoint_total"] is None else e["checkpoint_total"]
            extra = f"{e['checkpoint_chunks']}/{total} chunks done; rerun snakemake to resume"
        elif e["state"] == "unbooked":
            extra = "written, but its job was killed before Snakemake recorded it; the next run redoes it"
            if e.get("checkpoint_chunks"):
                extra += f" (from its {e['checkpoint_chunks']} checkpoint chunks)"
        elif e["state"] == "unreadable":
            extra = e["error"]
        elif e["state"] == "disabled":
            extra = "not run by this study (its config)"
        print(f"{stage:<8} {e['state']:<11} {extra}")
    if len(hashes) > 1:
        print("warning: the stores were made from different configs", file=sys.stderr)
    if snakemake_locked(study_dir):
        print("note: Snakemake's directory lock is set; if no snakemake is running here, "
              "run `snakemake --unlock` before rerunning", file=sys.stderr)
    return 0 if all(e["state"] in ("complete", "missing", "disabled") for e in entries.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="magcore", description="magcore study helper")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="which stores of a study exist and are complete")
    status.add_argument("study_dir", help="results/<study>")
    compare = sub.add_parser("compare", help="compare two stores variable by variable (exit 0 if bitwise equal)")
    compare.add_argument("store_a")
    compare.add_argument("store_b")
    compare.add_argument("--all", action="store_true", help="list identical variables too")
    revisions = sub.add_parser(
        "compare-revisions",
        help="build the shipped studies at two git revisions and compare every store (exit 0 if all bitwise equal)")
    revisions.add_argument("revision", help="git revision A, e.g. 227a552")
    revisions.add_argument("--against", default="worktree",
                           help="git revision B, or 'worktree' (default): the working tree with uncommitted changes")
    revisions.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    revisions.add_argument("--configs", nargs="+", default=None, metavar="CONFIG",
                           help="study files relative to the repository (default: the three in config/)")
    revisions.add_argument("--common-only", action="store_true",
                           help="variables that only one revision has are listed but do not count as differences")
    revisions.add_argument("--keep", metavar="DIR", default=None,
                           help="build the trees in DIR/A and DIR/B and keep them "
                                "(default: a temporary folder, removed)")
    revisions.add_argument("--repo", default=".",
                           help="the git repository (default: the one around the current folder)")
    args = parser.parse_args(argv)
    if args.command == "status":
        return _status(args.study_dir)
    if args.command == "compare":
        from .compare import report

        text, same = report(args.store_a, args.store_b, show_identical=args.all)
        print(text)
        return 0 if same else 1
    if args.command == "compare-revisions":
        from .compare import SHIPPED_CONFIGS, compare_revisions

        return compare_revisions(args.revision, args.against, repo=args.repo, configs=args.configs or SHIPPED_CONFIGS,
                                 cores=args.cores, common_only=args.common_only, keep=args.keep,
                                 log=lambda text: print(text, flush=True))
    return 2


if __name__ == "__main__":
    sys.exit(main())
