"""The duplicate check the app runs after indexing: Find then answers without verifying; a scan or a Find the
user starts stops it (what it verified is kept) and a scan asks for it again; the setting turns it off."""

from __future__ import annotations

import threading

from imgsim_desktop.core.errors import Cancelled


def _held_check_after_indexing(qtbot, window, photos, monkeypatch) -> list:
    """Index the photos with the first check held (below) and return once it is under way."""
    started, calls = _hold_first_check(window.controller.lib, monkeypatch)
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(photos["root"]))
    qtbot.waitUntil(started.is_set, timeout=10000)
    return calls


def _hold_first_check(lib, monkeypatch):
    """The first check waits, as a long one on a large library would, until it is cancelled; later checks
    are the library's own. Returns an Event set once the first check is under way."""
    real, started, calls = lib.check_duplicates, threading.Event(), []

    def check(progress=None, cancel=None, threshold=None):
        calls.append(1)
        if len(calls) > 1:
            return real(progress, cancel, threshold)
        progress.start("verifying", 1000)   # under way, as the sidebar shows it
        progress.advance(10)
        started.set()
        assert cancel._cancel.wait(30), "the held check was never cancelled"
        raise Cancelled("cancelled")

    monkeypatch.setattr(lib, "check_duplicates", check)
    return started, calls


def test_after_indexing_the_app_checks_for_duplicates_and_find_verifies_nothing(qtbot, window, photos):
    lib, sb = window.controller.lib, window.sidebar
    with qtbot.waitSignal(window.controller.check.finished, timeout=60000) as done:
        window.add_folder(str(photos["root"]))
    assert done.args[0] >= len(photos["exact"])   # every exact copy's group, at least
    assert lib.duplicates_checked()
    assert window.controller.check.shown   # it verified the re-encoded copies, and said so
    assert sb.state_label.text().startswith("Duplicates checked: ")
    page = window.duplicates
    assert page.group_title.text().startswith(f"{done.args[0]} groups of duplicates found in the background")
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find_btn.click()
    assert len(page.groups) == done.args[0]
    assert lib.last_verification.get("verified_now", 0) == 0
    # the bar follows the list once it is found: "24 groups to review" stayed beside 22 (an eighth outside try)
    page.groups = page.groups[1:]
    page._fill_groups()
    assert sb.state_label.text() == f"Duplicates checked: {done.args[0] - 1} groups to review"
    # nothing changed since: asked again, the check has nothing to do
    with qtbot.waitSignal(window.controller.check.finished, timeout=20000) as again:
        window.controller.check.request()
    assert again.args[0] is None


def test_the_groups_counted_in_the_background_are_those_find_shows_at_the_user_s_threshold(qtbot, window, photos,
                                                                                         monkeypatch):
    """With the threshold raised in Settings the background said "9 groups" and Find showed 8 (it counted at
    the model's cut: the fourth outside try)."""
    lib, cuts = window.controller.lib, []
    real = lib.check_duplicates
    monkeypatch.setattr(lib, "check_duplicates", lambda p=None, c=None, t=None: cuts.append(t) or real(p, c, t))
    window.controller.settings.duplicates_threshold = 0.9999   # exact copies only, as the page's cut
    with qtbot.waitSignal(window.controller.check.finished, timeout=60000) as done:
        window.add_folder(str(photos["root"]))
    assert cuts == [0.9999]
    page = window.duplicates
    page.threshold.setValue(0.9999)
    with qtbot.waitSignal(page.groupsReady, timeout=20000):
        page.find_btn.click()
    assert done.args[0] == len(page.groups) == len(lib.duplicates("duplicates", 0.9999))


def test_a_scan_the_user_starts_stops_the_check_and_asks_for_it_again(qtbot, window, photos, monkeypatch):
    ctl = window.controller
    calls = _held_check_after_indexing(qtbot, window, photos, monkeypatch)
    assert ctl.check.running
    with qtbot.waitSignal(ctl.check.stopped, timeout=10000) as stopped:
        with qtbot.waitSignal(window.scanFinished, timeout=60000):
            ctl.start_scan(None)   # Rescan
    assert stopped.args == ["cancelled"]
    # the scan's end asks for the check again, and this time it runs
    qtbot.waitUntil(lambda: len(calls) == 2 and not ctl.check.running, timeout=60000)
    assert ctl.lib.duplicates_checked()


def test_find_takes_over_from_the_check(qtbot, window, photos, monkeypatch):
    ctl = window.controller
    _held_check_after_indexing(qtbot, window, photos, monkeypatch)
    qtbot.waitUntil(lambda: window.sidebar.state_label.text() == "Checking for duplicates…", timeout=10000)
    assert window.sidebar.cancel_btn.isEnabled()
    # Rescan stays open (it stops the check); it opens once the status lists the folder
    qtbot.waitUntil(window.sidebar.rescan_btn.isEnabled, timeout=10000)
    page = window.duplicates
    with qtbot.waitSignal(ctl.check.stopped, timeout=10000):
        with qtbot.waitSignal(page.groupsReady, timeout=20000):
            page.find_btn.click()
    assert page.groups and not ctl.check.running
    assert "Checking" not in window.sidebar.state_label.text()
    assert "not all checked" not in window.sidebar.detail.text()   # the Find checked them


def test_the_setting_turns_the_check_off(qtbot, window, photos):
    s = window.settings
    s.background_check = False
    window.controller.apply_settings(s)
    with qtbot.waitSignal(window.scanFinished, timeout=60000):
        window.add_folder(str(photos["root"]))
    assert not window.controller.check.running
    assert not window.controller.lib.duplicates_checked()


def test_an_empty_library_is_not_said_to_be_checked(qtbot, window):
    """A new user's empty library read "Duplicates checked: none found" beside "0 photos"."""
    with qtbot.waitSignal(window.controller.check.finished, timeout=20000) as done:
        window.controller.check.request()
    assert done.args[0] is None and "Duplicates checked" not in window.sidebar.state_label.text()
