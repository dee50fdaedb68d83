"""The ``imgsim`` command. Each group of sub-commands lives in its own module with a ``register(sub)``.

A module's ``register`` adds sub-parsers whose ``func(args) -> int`` does the work. Errors derived from
``ImgsimError`` are printed as one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import sqlite3
import sys
from pathlib import Path

from imgsim_desktop import __version__
from imgsim_desktop.core.errors import ImgsimError

# Add a module here when it grows a new group of commands.
COMMAND_MODULES = [
    "imgsim_desktop.cli.library_cmds",
    "imgsim_desktop.cli.review_cmds",
    "imgsim_desktop.cli.bench_cmds",
    "imgsim_desktop.cli.watch_cmds",
    "imgsim_desktop.cli.train_cmds",
    "imgsim_desktop.cli.perf_cmds",
]


# Which module registers each command, so that running one imports only its own module (about 60 ms
# less for `imgsim status`); tests/test_cli.py checks it against what the modules register.
COMMANDS = {
    **dict.fromkeys(["index", "similar", "dupes", "status", "folders"], "imgsim_desktop.cli.library_cmds"),
    **dict.fromkeys(["trash", "undo", "history", "keeper-rules", "review"], "imgsim_desktop.cli.review_cmds"),
    **dict.fromkeys(["bench", "bench-make", "bench-groups", "bench-calibrate"], "imgsim_desktop.cli.bench_cmds"),
    "watch": "imgsim_desktop.cli.watch_cmds",
    **dict.fromkeys(["train", "train-lookalike", "reconstruct"], "imgsim_desktop.cli.train_cmds"),
    "bench-perf": "imgsim_desktop.cli.perf_cmds",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (given a known ``command``) one with only the module that registers it."""
    parser = argparse.ArgumentParser(prog="imgsim", description="Find duplicate and similar photos.")
    parser.add_argument("--version", action="version", version=f"imgsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The sub-command when it is the first word (anything else, ``--help`` included, gets the full parser)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _bytes_or_escape(exc: UnicodeError):
    """A file name that is not UTF-8 goes out as the bytes it is (like ls and find); any other character the
    terminal's encoding lacks ("café" on an ASCII terminal) as a backslash escape, never a crash."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for c in exc.object[exc.start:exc.end]:
        o = ord(c)
        out += bytes([o - 0xDC00]) if 0xDC80 <= o <= 0xDCFF else c.encode("ascii", "backslashreplace")
    return bytes(out), exc.end


codecs.register_error("imgsim-paths", _bytes_or_escape)

# control characters in a file name would drive the terminal (an escape turns it red): shown escaped (tabs,
# line ends and CSV's carriage returns pass)
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A, 0x0D)}


class _Shown:
    """A terminal's stdout that writes control characters as escapes (JSON escapes them itself)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text.translate(_CONTROLS))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _paths_print_as_bytes() -> None:
    """Whatever a file is called, printing its name never crashes and never drives the terminal."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="imgsim-paths")
        except (AttributeError, ValueError):
            pass
    try:
        if sys.stdout.isatty() and not isinstance(sys.stdout, _Shown):
            sys.stdout = _Shown(sys.stdout)
    except (AttributeError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    _paths_print_as_bytes()
    parser = build_parser(_command_of(sys.argv[1:] if argv is None else list(argv)))
    args, extra = parser.parse_known_args(argv)
    if extra and isinstance(getattr(args, "paths", None), list) and getattr(args, "action", None) != "list":
        # "folders add --library L PATH": argparse closes a command's positionals at the first option
        after = extra.index("--") if "--" in extra else len(extra)
        words = [x for x in extra[:after] if not x.startswith("-")] + extra[after + 1:]
        if len(words) == len(extra) - (after < len(extra)):
            args.paths += [Path(x) for x in words]
            extra = []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ImgsimError as exc:
        print(f"imgsim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # pages of the catalog damaged on disk (found when first read)
        print(f"imgsim: error: {catalog_damage_message(args, exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imgsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the disk, not imgsim: a full or read-only disk says so in one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"imgsim: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def catalog_damage_message(args, exc: Exception) -> str:
    """One line saying what is wrong with the catalog and what to do about it."""
    from pathlib import Path

    from imgsim_desktop.core.paths import default_library_dir

    home = Path(getattr(args, "library", None) or default_library_dir()).expanduser()
    what = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if isinstance(exc, sqlite3.OperationalError) and "malformed" not in what:
        return f"the library catalog in {home} could not be read ({what})"
    return (f"the library catalog {home / 'catalog.sqlite'} is damaged ({what}); move it aside and run "
            f"'imgsim index' to rebuild it from your folders (your photos are untouched)")


if __name__ == "__main__":
    raise SystemExit(main())
