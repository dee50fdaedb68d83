"""``imgsim watch [FOLDERS]``: keep the library in sync with its folders, logging each change, until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

from .common import add_library_option


def register(sub) -> None:
    p = sub.add_parser("watch", help="watch the library's folders and keep the index current until Ctrl-C")
    p.add_argument("folders", nargs="*", type=Path, help="folders to add to the library before watching")
    add_library_option(p)
    p.add_argument("--model", type=Path, default=None, help="model card (.json) to use instead of the bundled one")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    p.add_argument("--debounce", type=float, default=0.5, metavar="S",
                   help="seconds of quiet before a burst of changes is applied (default 0.5)")
    p.add_argument("--settle", type=float, default=1.0, metavar="S",
                   help="seconds a file must stay unchanged when its writer is not seen closing it (default 1.0)")
    p.add_argument("--no-scan", action="store_true", help="skip the catch-up scan at start")
    p.add_argument("--check-duplicates", action="store_true",
                   help="after each batch of changes, verify the new duplicate candidates (as the app does), so "
                        "that 'imgsim dupes' answers at once")
    p.add_argument("--verbose", "-v", action="store_true", help="also log batches and watcher internals")
    p.set_defaults(func=cmd_watch)


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def _say(line: str) -> None:
    try:
        print(f"{_stamp()} {line}", flush=True)
    except BrokenPipeError:
        pass


def cmd_watch(args) -> int:
    from imgsim_desktop.core.library import Library
    from imgsim_desktop.core.watcher import LibraryWatcher

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:  # a second Ctrl-C: leave now
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        lib = Library(args.library, model_path=args.model, device=args.device)  # LibraryLockedError: one line
        try:
            for f in args.folders:
                lib.add_folder(f)
            if not lib.folders():
                print("imgsim: error: the library has no folders; give one: imgsim watch FOLDER", file=sys.stderr)
                return 2
            return _watch(lib, args, stop, LibraryWatcher)
        finally:
            lib.close()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _check(lib, stop: threading.Event) -> None:
    """The duplicate check between batches, stopped (keeping what it verified) by Ctrl-C."""
    from imgsim_desktop.core.errors import Cancelled
    from imgsim_desktop.core.progress import CancelToken

    token, over = CancelToken(), threading.Event()

    def stop_on_ctrl_c() -> None:
        while not over.is_set():
            if stop.wait(0.2):
                token.cancel()
                return

    ender = threading.Thread(target=stop_on_ctrl_c, daemon=True)
    ender.start()
    try:
        groups = lib.check_duplicates(cancel=token)
    except Cancelled:
        return
    finally:
        over.set()
        ender.join()
    if groups is not None:
        _say(f"checked  duplicates: {groups} group{'s' if groups != 1 else ''} ('imgsim dupes' lists them)")


def _watch(lib, args, stop: threading.Event, watcher_cls) -> int:
    totals = {"added": 0, "updated": 0, "moved": 0, "removed": 0, "failed": 0}
    holder: dict = {}

    changed = threading.Event()   # files changed since the last duplicate check

    def on_change(ev) -> None:
        kind = ev.kind
        if kind not in totals:
            return
        changed.set()
        totals[kind] += len(ev.file_ids) or len(ev.paths)
        w = holder.get("w")
        move = w.current_move if w is not None else None
        if kind == "moved" and move is not None:
            n = len(ev.file_ids)
            _say(f"moved    {move[0]} -> {move[1]}" + (f"  ({n} photos)" if n > 1 else ""))
            return
        for p in ev.paths:
            _say(f"{kind:<8} {p}")

    def on_batch(b) -> None:
        for rep in b.reports:
            for path, reason in getattr(rep, "errors", []) or []:
                totals["failed"] += 1
                _say(f"failed   {path}: {reason}")
        if b.scanned:
            rep = b.reports[-1] if b.reports else None
            extra = ""
            if rep is not None:
                extra = (f": {rep.added} added, {rep.updated} updated, {rep.moved} moved, {rep.removed} removed, "
                         f"{rep.unchanged} unchanged")
            _say(f"scanned  {', '.join(b.scanned)} ({b.reason}){extra}")
        if args.verbose:
            logging.getLogger("imgsim.watch").info(
                "batch %d (%s): %d events, %d updated, %d moved, %d removed in %.2fs", b.number, b.reason, b.events,
                len(b.updated), len(b.moved), len(b.removed), b.duration_s)

    def on_error(exc) -> None:
        print(f"imgsim: watch: {exc}", file=sys.stderr, flush=True)

    unsubscribe = lib.subscribe(on_change)
    w = watcher_cls(lib, debounce_s=args.debounce, settle_s=args.settle, on_batch=on_batch, on_error=on_error,
                    scan_on_start=not args.no_scan)
    holder["w"] = w
    try:
        roots = ", ".join(str(r) for r in lib.folders())
        print(f"imgsim: watching {roots} (library {lib.home}); Ctrl-C to stop", file=sys.stderr, flush=True)
        w.start()
        if args.check_duplicates:
            changed.set()   # photos indexed before, or a check an earlier run did not finish
        while not stop.wait(0.5):
            if args.check_duplicates and changed.is_set() and w.idle.is_set():
                changed.clear()
                _check(lib, stop)
    except KeyboardInterrupt:
        pass
    finally:
        print("imgsim: stopping...", file=sys.stderr, flush=True)
        w.stop()
        unsubscribe()
    print("imgsim: stopped; " + ", ".join(f"{v} {k}" for k, v in totals.items()), file=sys.stderr, flush=True)
    return 0
