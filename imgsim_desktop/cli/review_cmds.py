"""``imgsim trash | undo | history | review``: the Duplicates page's review from a terminal.

The same ``core.review.ReviewSession`` rules as the app (reference photos and keepers are never marked, a
RAW and its JPEG go together, the similar tier needs ``--confirm-similar``), and the same undo log.
"""

from __future__ import annotations

import sys

from imgsim_desktop.core.actions import format_bytes
from imgsim_desktop.core.errors import LibraryError

from .common import add_library_option, print_json, print_table, shown
from .library_cmds import _model_options, _open, _open_view


def register(sub) -> None:
    p = sub.add_parser("trash", help="send duplicates to the system trash, keeping each group's keeper")
    p.add_argument("--all-but-keeper", action="store_true", required=True,
                   help="mark every photo but the keeper of each group (reference photos are never marked)")
    p.add_argument("--tier", choices=["duplicates", "similar"], default="duplicates",
                   help="duplicates: copies and edits (default); similar: same scene, needs --confirm-similar")
    p.add_argument("--threshold", type=float, default=None, help="cosine similarity cut (default: the tier's)")
    p.add_argument("--group", action="append", default=[], metavar="ID",
                   help="only this group (its id from 'imgsim dupes --json'); may be repeated")
    p.add_argument("--confirm-similar", action="store_true",
                   help="also mark in 'similar' groups: the keeper's copies and other shots (a photo "
                        "that is not the keeper's is never marked)")
    p.add_argument("--dry-run", action="store_true", help="show what would go, change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_trash)

    p = sub.add_parser("undo", help="put back the files of the last trash/move action (or of --id)")
    p.add_argument("--id", default=None, help="an action's number or id from 'imgsim history'")
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("history", help="trash and move actions, oldest first, with their undo state")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("keeper-rules", help="show or set the order of the rules that choose each group's keeper")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--set", metavar="RULE,RULE", help="new order (rules left out follow in the default order)")
    g.add_argument("--reset", action="store_true", help="back to the default order")
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_keeper_rules)

    p = sub.add_parser("review", help="mark a group as reviewed so it stays out of 'dupes' until it changes")
    p.add_argument("group", help="the group's id from 'imgsim dupes --json'")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--keep-all", action="store_true", help="they are duplicates, but keep them all")
    g.add_argument("--forget", action="store_true", help="show the group again")
    p.add_argument("--tier", choices=["duplicates", "similar"], default="duplicates")
    p.add_argument("--threshold", type=float, default=None)
    add_library_option(p)
    _model_options(p)
    p.set_defaults(func=cmd_review)


def _plan(lib, args):
    from imgsim_desktop.core.review import MarkReport, ReviewSession

    session = ReviewSession(lib.duplicates(args.tier, args.threshold), args.tier)
    known = {g.id for g in session.groups}
    for gid in args.group:
        if gid not in known:
            raise LibraryError(f"no group {gid} in the {args.tier} tier (see 'imgsim dupes --json'; "
                               "reviewed groups are left out)")
    report = MarkReport()
    for gid in args.group or [None]:
        r = session.mark_all_but_keeper(gid, confirm_similar=args.confirm_similar)
        report.marked += r.marked
        report.skipped += r.skipped
    return session, report


def cmd_trash(args) -> int:
    with _open(args, readonly_ok=args.dry_run) as lib:
        session, report = _plan(lib, args)
        removal = session.removal()
        if args.json:
            out = {"dry_run": args.dry_run, "would_trash" if args.dry_run else "trash": removal.to_dict(),
                   "skipped": [{"what": w, "why": y} for w, y in report.skipped]}
        else:
            rows = []
            for g in session.groups:
                for m in g.members:
                    if session.is_marked(m.path):   # what it is to its keeper: a copy, or another shot
                        rows.append((g.id, format_bytes(m.bytes), m.path, m.reason))
            if rows:
                print_table(rows, ["group", "size", "would go to the trash", "what it is"])
            similar = [w for w, y in report.skipped if "confirm" in y]
            if similar:
                print(f"{len(similar)} similar group(s) left alone: add --confirm-similar to mark them too",
                      file=sys.stderr)
            from imgsim_desktop.core.review import NOT_ITS_PHOTO

            others = [w for w, y in report.skipped if y == NOT_ITS_PHOTO]
            if others:
                print(f"{len(others)} photo(s) left unmarked, not the same photo as their group's keeper "
                      f"(e.g. {others[0]}): move it to the trash yourself if you mean it", file=sys.stderr)
            many = [w for w, y in report.skipped if "pictures (pages or frames)" in y]
            if many:
                print(f"{len(many)} file(s) of several pages or frames left unmarked, only their first compared "
                      f"(e.g. {many[0]}): move it to the trash yourself if you mean it", file=sys.stderr)
            print(removal.describe("Move to the trash" if not args.dry_run else "Would move to the trash"))
        if not removal.paths:
            if args.json:
                print_json(out)
            elif not args.dry_run:
                print("nothing to do")
            return 0
        if args.dry_run:
            if args.json:
                print_json(out)
            return 0
        if not args.yes:
            if not sys.stdin or not sys.stdin.isatty():
                raise LibraryError("not moving anything without a confirmation: no terminal to ask on; "
                                   "check with --dry-run, then add --yes")
            try:
                answer = input(f"Move {removal.files} file(s) ({format_bytes(removal.bytes)}) to the trash? [y/N] ")
            except EOFError:   # Ctrl-D: no answer is no
                answer = ""
                print()
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing was moved")
                return 1
        action = session.trash(lib)
    if args.json:
        out["action"] = {"id": action.id, "done": len(action.done_items),
                         "failed": [{"path": i.src, "error": i.error} for i in action.failed_items]}
        print_json(out)
    else:
        print(action.describe() + (f" (action {action.id}; 'imgsim undo' puts them back)" if action.done_items
                                   else ""))
        for it in action.failed_items:
            print(f"not moved {shown(it.src)}: {shown(it.error)}", file=sys.stderr)
    return 0 if not action.failed_items else 1


def _find_action(actions_, ident: str):
    if ident.isdigit() and 1 <= int(ident) <= len(actions_) and len(ident) < 6:
        return actions_[int(ident) - 1]
    for a in actions_:
        if a.id == ident:
            return a
    raise LibraryError(f"no action {ident} in the history (see 'imgsim history')")


def cmd_undo(args) -> int:
    with _open(args, readonly_ok=False) as lib:
        action_id = _find_action(lib.history(), args.id).id if args.id else None
        report = lib.undo(action_id)
    print(f"restored {len(report.restored)} file(s) of action {report.action_id}")
    for path, why in report.failed:
        print(f"not restored {path}: {why}", file=sys.stderr)
    return 0 if not report.failed else 1


def _state(a) -> str:
    if a.undone:
        return "undone"
    if a.undoable:
        return "can undo"
    back = sum(i.restored for i in a.done_items)
    part = f"partly undone ({back} of {len(a.done_items)} back)" if back else ""
    if any(i.info or a.kind != "trash" for i in a.pending_undo):   # it could be put back, but nothing waits there
        where = "the trash" if a.kind == "trash" else "where they went"
        return f"{part}; the rest left {where}" if part else f"cannot undo: its files left {where}"
    return part or "cannot undo"


def cmd_history(args) -> int:
    with _open_view(args) as lib:
        acts = lib.history()
    if args.json:
        print_json([{"number": n, "id": a.id, "kind": a.kind, "created": a.created, "target": a.target,
                     "files": len(a.done_items), "bytes": a.total_bytes, "failed": len(a.failed_items),
                     "undone": a.undone, "undoable": a.undoable,
                     "items": [{"path": i.src, "restored": i.restored, "error": i.error} for i in a.items]}
                    for n, a in enumerate(acts, 1)])
        return 0
    if not acts:
        print("no actions yet")
        return 0
    print_table([(n, a.id, a.created, a.describe(state=False), _state(a)) for n, a in enumerate(acts, 1)],
                ["#", "id", "when", "what", "state"])
    return 0


def cmd_keeper_rules(args) -> int:
    from imgsim_desktop.core.keeper import RULES

    if args.set or args.reset:
        with _open(args, readonly_ok=False) as lib:
            order = lib.set_keeper_rules(None if args.reset else args.set.split(","))
    else:
        with _open(args, readonly_ok=True) as lib:
            order = lib.keeper_rules()
    print(" > ".join(order) + ("  (default)" if tuple(order) == RULES else ""))
    return 0


def cmd_review(args) -> int:
    with _open(args, readonly_ok=False) as lib:
        if args.forget:
            if not lib.unset_reviewed(args.group):
                raise LibraryError(f"group {args.group} was not marked as reviewed")
            print(f"group {args.group} will show again")
            return 0
        groups = {g.id: g for g in lib.duplicates(args.tier, args.threshold, include_reviewed=True)}
        if args.group not in groups:
            raise LibraryError(f"no group {args.group} in the {args.tier} tier (see 'imgsim dupes --json')")
        verdict = "keep_all" if args.keep_all else "not_duplicates"
        lib.set_reviewed(groups[args.group], verdict)
    print(f"group {args.group} marked {verdict.replace('_', ' ')}; it stays hidden until one of its photos changes")
    return 0
