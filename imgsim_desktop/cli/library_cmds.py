"""``imgsim index | similar | dupes | status | folders``: the library from a terminal."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from imgsim_desktop.core.actions import format_bytes
from imgsim_desktop.core.errors import LibraryError
from imgsim_desktop.core.progress import CancelToken
from imgsim_desktop.core.roots import under_any

from .common import (TerminalProgress, add_format_options, add_library_option, print_csv, print_json,
                     print_table, shown)


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=None, help="model card (.json) to use instead of the bundled one")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")


def _open(args, readonly_ok: bool):
    from imgsim_desktop.core.library import Library, open_for_query

    kw = dict(model_path=args.model, device=args.device)
    if readonly_ok:
        _must_exist(args)
        return open_for_query(args.library, **kw)
    return Library(args.library, **kw)


def _must_exist(args) -> None:
    """A question to a library named on the command line that is not there: a mistyped --library made an
    empty library wherever it pointed (folders included) and answered "0 files". The default library, and
    the commands that write (index, folders add), still make it."""
    from imgsim_desktop.core.library_view import CATALOG_NAME

    lib = getattr(args, "library", None)
    if lib is not None and not (Path(lib).expanduser() / CATALOG_NAME).exists():
        raise LibraryError(f"no library at {lib}: make one with 'imgsim index FOLDER --library {lib}'")


def _open_view(args):
    """For the commands that read only the catalog (status, folders, history): a light read-only view
    (core/library_view.py), or the query open when the library must first be created or upgraded."""
    from imgsim_desktop.core.library_view import open_view

    _must_exist(args)
    return open_view(args.library, model_path=args.model, device=args.device) or _open(args, readonly_ok=True)


def register(sub) -> None:
    p = sub.add_parser("index", help="add folders to the library and index new or changed photos")
    p.add_argument("folders", nargs="*", type=Path, help="folders to add (default: the library's folders)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--check-duplicates", action="store_true",
                   help="then verify the duplicate candidates, as the app does in the background, so that the "
                        "next 'imgsim dupes' answers at once")
    add_library_option(p)
    add_format_options(p)
    _model_options(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("similar", help="photos that look like PHOTO (indexed or not)")
    p.add_argument("photo", type=Path)
    p.add_argument("-k", type=int, default=20, help="how many results (default 20)")
    add_library_option(p)
    add_format_options(p)
    _model_options(p)
    p.add_argument("--space", choices=["lookalikes", "duplicates"], default="lookalikes",
                   help="lookalikes: the same kind of picture (default); duplicates: the same photo, edited")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("dupes", help="groups of duplicate or similar photos, with a suggested keeper")
    p.add_argument("--tier", choices=["duplicates", "similar"], default="duplicates",
                   help="duplicates: same photo edited or re-encoded; similar: same scene (bursts)")
    p.add_argument("--threshold", type=float, default=None,
                   help="cosine similarity cut (default: the tier's); for duplicates, the cut for a pair to be "
                        "proposed to the verifier, which decides")
    p.add_argument("--include-reviewed", action="store_true",
                   help="also groups marked 'not duplicates' / 'keep all' (imgsim review)")
    add_library_option(p)
    add_format_options(p)
    _model_options(p)
    p.set_defaults(func=cmd_dupes)

    p = sub.add_parser("status", help="folders, counts, failures, model and index")
    p.add_argument("--errors", action="store_true", help="list files that could not be read")
    add_library_option(p)
    add_format_options(p)
    _model_options(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("folders", help="list, add or remove library folders; exclude or include folders in them",
                       description="exclude: never index a folder inside a library folder (its photos already "
                                   "indexed leave the library; the files are untouched); include: index it "
                                   "again at the next 'imgsim index'. The app and the CLI share the list.")
    p.add_argument("action", choices=["list", "add", "remove", "exclude", "include"], nargs="?", default="list")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--reference", action=argparse.BooleanOptionalAction, default=None,
                   help="with add: a reference folder (its photos are always kept, never marked, moved or "
                        "trashed); --no-reference turns that off")
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_folders)


def _check_folders(folders: list[Path]) -> None:
    for f in folders:
        if not f.exists():
            raise LibraryError(f"folder not found: {f}")
        if not f.is_dir():
            raise LibraryError(f"not a folder: {f}")


def cmd_index(args) -> int:
    _check_folders(args.folders)
    progress = TerminalProgress(enabled=not args.quiet and not args.json and not args.csv)
    cancel = CancelToken()
    with _open(args, readonly_ok=False) as lib:
        try:
            report = lib.scan(args.folders or None, progress=progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.cancel()
            raise
        progress.finish()
        if not lib.folders():
            raise LibraryError("the library has no folders yet: run 'imgsim index FOLDER'")
        checked = None
        if args.check_duplicates and not report.cancelled:
            try:
                checked = lib.check_duplicates(progress, cancel)
            except KeyboardInterrupt:   # what was verified is kept
                cancel.cancel()
                raise
            progress.finish()
    d = report.to_dict()
    if args.check_duplicates:
        d["duplicate_groups"] = checked
    if args.json:
        print_json(d)
    elif args.csv:
        print_csv([{"path": p, "reason": r} for p, r in report.errors], ["path", "reason"])
    else:
        rate = (report.embedded + report.reused) / report.seconds if report.seconds > 0 else 0.0
        print(f"added {report.added}, updated {report.updated}, moved {report.moved}, removed {report.removed}, "
              f"unchanged {report.unchanged}, failed {report.failed} in {report.seconds:.1f}s "
              f"({report.embedded} embedded, {report.reused} reused, {rate:.1f} files/s)")
        if args.check_duplicates and not report.cancelled:
            print("duplicates already checked, nothing changed" if checked is None else
                  f"duplicates checked: {checked} group{'s' if checked != 1 else ''} ('imgsim dupes' lists them)")
        for f in report.missing_folders:
            print(f"warning: folder not found, its photos were kept: {f}", file=sys.stderr)
        for p, r in report.errors[:20]:
            print(f"skipped {p}: {r}", file=sys.stderr)
        if len(report.errors) > 20:
            print(f"... and {len(report.errors) - 20} more (imgsim status --errors)", file=sys.stderr)
    return 1 if report.cancelled else 0


def cmd_similar(args) -> int:
    if not args.photo.exists():
        raise LibraryError(f"file not found: {args.photo}")
    if args.k <= 0:
        raise LibraryError("-k must be positive")
    with _open(args, readonly_ok=True) as lib:
        results = lib.similar(args.photo, k=args.k, space=args.space)
    rows = [r.to_dict() for r in results]
    if args.json:
        print_json({"query": str(args.photo), "results": rows})
    elif args.csv:
        print_csv([{**r, "copies": " | ".join(r["copies"])} for r in rows],
                  ["path", "score", "space", "kind", "reason", "copies"])
    else:   # a near-duplicate says what the verifier found it to be ("same photo: grey", "another shot: ...")
        print_table([(r.reason or r.kind, f"{r.score:.3f}", r.space,
                      r.path + (f"  (+{len(r.copies)} exact copies)" if r.copies else "")) for r in results],
                    ["match", "score", "space", "path"])
    return 0


def cmd_dupes(args) -> int:
    progress = TerminalProgress(enabled=not args.json and not args.csv)
    with _open(args, readonly_ok=True) as lib:
        groups = lib.duplicates(args.tier, args.threshold, include_reviewed=args.include_reviewed,
                                progress=progress)  # progress: a first graph build
    progress.finish()
    skipped = lib.last_verification.get("skipped", [])
    if skipped and not args.json:
        path, why = skipped[0]
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        what = "not compared with its keeper" if args.tier == "similar" else "not verified, left out of the groups"
        print(f"{what}: {shown(path)}: {shown(why)}{more}", file=sys.stderr)
    if args.json:
        print_json({"tier": args.tier, "groups": [g.to_dict() for g in groups],
                    "skipped": [{"path": p, "reason": r} for p, r in skipped]})
    elif args.csv:
        rows = []
        for gi, g in enumerate(groups, 1):
            for m in g.members:
                rows.append({"group": g.id, "tier": g.tier, "keeper": m.path == g.keeper,
                             "keeper_reason": g.keeper_reason if m.path == g.keeper else "", **m.to_dict()})
        print_csv(rows, ["group", "tier", "keeper", "keeper_reason", "reference", "path", "similarity", "width",
                         "height", "bytes", "pictures", "reason"])
    else:
        if not groups:
            print("no duplicate groups")
        for gi, g in enumerate(groups, 1):
            print(f"group {gi} [{g.id}] ({g.tier}, {len(g.members)} photos, "
                  f"{format_bytes(g.reclaimable_bytes)} reclaimable)")
            print(f"  keeper: {shown(g.keeper_reason)}")
            for m in g.members:
                mark = "keep" if m.path == g.keeper else "    "
                ref = " (reference)" if m.reference else ""
                print(f"  {mark} {m.similarity:.3f} {m.width}x{m.height} {m.bytes:>10} {shown(m.path)}{ref}")
                if m.reason:
                    print(f"       {shown(m.reason)}")
    return 0


def cmd_status(args) -> int:
    with _open_view(args) as lib:
        st = lib.status()
        errors = lib.errors() if args.errors else []
    if args.json:
        if args.errors:
            st["error_files"] = [{"path": p, "reason": r} for p, r in errors]
        print_json(st)
        return 0
    if args.csv:
        print_csv(st["folders"], ["path", "exists", "files", "errors"])
        return 0
    print(f"library   {st['library']}{'  (read-only: another process is writing)' if st['readonly'] else ''}")
    spaces = st["model"].get("spaces") or {}
    dims = " + ".join(f"{k} {b - a}-d" for k, (a, b) in spaces.items()) or f"{st['model']['embedding_size']}-d"
    print(f"model     {st['model']['model_id']} ({dims}, {st['model']['device']})")
    folders_out = st.get("unreadable_folders", 0)
    print(f"photos    {st['files']} files, {st['indexed']} indexed, {st['errors']} unreadable, "
          f"{st['bytes'] / 1e9:.2f} GB"
          + (f"; {folders_out} folder{'s' if folders_out != 1 else ''} that cannot be read" if folders_out else ""))
    print(f"index     {st['index']['vectors']} vectors, {st['index']['file_bytes'] / 1e6:.1f} MB on disk")
    if st["folders"]:
        print()
        print_table([(f["files"], f["errors"], "missing" if not f["exists"] else
                      ("reference" if f.get("reference") else ""), f["path"]) for f in st["folders"]],
                    ["files", "errors", "state", "folder"])
    for p, r in errors:
        print(f"{p}: {r}")
    return 0


def cmd_folders(args) -> int:
    if args.action == "list":
        with _open_view(args) as lib:
            refs = set(lib.reference_folders())
            for f in lib.folders():
                print(f"{f}  (reference)" if f in refs else f)
            for f in lib.excluded_folders():
                print(f"{f}  (excluded)")
        return 0
    if not args.paths:
        raise LibraryError(f"'folders {args.action}' needs at least one folder")
    if args.reference is not None and args.action != "add":
        raise LibraryError("--reference goes with 'folders add'")
    with _open(args, readonly_ok=False) as lib:
        if args.action in ("exclude", "include"):
            given = {str(Path(p).expanduser().resolve()) for p in args.paths}
            roots = [str(f) for f in lib.folders()]
            outside = sorted(p for p in given if not under_any(p, roots))
            typo = [p for p in outside if not os.path.isdir(p)]
            if args.action == "exclude" and typo:   # a typo would have been "excluded" without a word
                raise LibraryError(f"no such folder, nor inside a library folder: {typo[0]}")
            if args.action == "exclude" and outside:   # before the folder that holds it: fine, said
                print(f"note: {outside[0]} is not inside a library folder yet; it is skipped once one holds it",
                      file=sys.stderr)
            now = {str(p) for p in lib.excluded_folders()}
            n = lib.set_excluded(now | given if args.action == "exclude" else now - given)
            for p in sorted(given):
                if args.action == "include" and p not in now:
                    print(f"not excluded: {p}")
                else:
                    print(f"{'excluded' if args.action == 'exclude' else 'included'} {p}")
            print(f"{n} photos forgotten; files untouched" if args.action == "exclude" else
                  "run 'imgsim index' to index what it holds")
            return 0
        for p in args.paths:
            if args.action == "add":
                known = Path(p).expanduser().resolve() in lib.folders()
                f = lib.add_folder(p, reference=args.reference)
                ref = {True: ", a reference folder", False: ", not a reference folder", None: ""}[args.reference]
                print(f"{'updated' if known else 'added'} {f}{ref}" +
                      ("" if known else " (run 'imgsim index' to index it)"))
            else:
                n = lib.remove_folder(p)
                print(f"removed {p} ({n} photos forgotten; files untouched)")
    return 0
