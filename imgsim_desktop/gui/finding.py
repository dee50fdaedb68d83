"""Finding groups on the Duplicates page: the tier and its threshold, the search run off the GUI thread with
its progress and Stop, and what comes back. A mixin of ``DuplicatesPage``, like ``marking`` and
``file_actions``: the page's other half reviews what this finds."""

from __future__ import annotations

from ..core.errors import Cancelled
from ..core.model_card import DEFAULT_THRESHOLDS
from ..core.progress import CancelToken
from . import workers

TIERS = (("duplicates", "Duplicates (same photo)"), ("similar", "Similar (edits, crops, bursts)"))


def threshold_range(tier: str, thresholds: dict) -> tuple[float, float]:
    """The sensible cut-offs of a tier: "duplicates" from the similar tier's default up to 1.00 (exact
    copies only); "similar" 0.20 below its own default up to 1.00. Below that every photo joins one group."""
    sim = float(thresholds.get("similar", DEFAULT_THRESHOLDS["similar"]))
    lo = sim if tier == "duplicates" else max(0.0, sim - 0.2)
    return int(lo * 100) / 100, 1.0


def _find_work(lib, tier: str, threshold: float | None, progress=None, cancel=None):
    """Worker side: the groups, each member's content hash (exact copies are labelled as such), and the photos
    the verifier left out (unreadable, or changed since they were indexed)."""
    groups = lib.duplicates(tier=tier, threshold=threshold, progress=progress, cancel=cancel)
    ids = [m.file_id for g in groups for m in g.members]
    hashes = {r.id: r.hash for r in lib.files_by_ids(ids)} if ids else {}
    return groups, hashes, list(getattr(lib, "last_verification", {}).get("skipped", []))


class FindingMixin:
    """The page's search for groups: it needs tier_combo, threshold, find_btn, stop_btn and status."""

    def tier(self) -> str:
        return self.tier_combo.currentData()

    def model_thresholds(self) -> dict:
        model = getattr(self.lib, "model", None)
        return dict(getattr(model, "thresholds", None) or DEFAULT_THRESHOLDS)

    def default_threshold(self, tier: str | None = None) -> float:
        tier = tier or self.tier()
        return float(self.model_thresholds().get(tier, DEFAULT_THRESHOLDS[tier]))

    def _set_tier_threshold(self) -> None:
        """The tier's range, and its value: the user's setting if any, else the model's own cut-off."""
        tier = self.tier()
        lo, hi = threshold_range(tier, self.model_thresholds())
        default = self.default_threshold(tier)
        value = self.settings.threshold_for(tier) if self.settings is not None else None
        self.threshold.blockSignals(True)
        self.threshold.setRange(lo, hi)
        self.threshold.setValue(default if value is None else value)
        self.threshold.blockSignals(False)
        self.threshold.setToolTip(f"How alike two photos must be to share a group ({lo:.2f}–{hi:.2f}; "
                                  f"{default:.2f} is this model's default, 1.00 finds exact copies only)")

    def threshold_value(self) -> float | None:
        """None when the box shows the model's default (the library then uses its own, unrounded)."""
        v = round(self.threshold.value(), 2)
        return None if abs(v - round(self.default_threshold(), 2)) < 1e-9 else v

    def _tier_changed(self) -> None:
        self._set_tier_threshold()
        self._results_outdated("Tier changed")

    def _threshold_changed(self, _v: float) -> None:
        self._results_outdated("Threshold changed")

    def _results_outdated(self, why: str) -> None:
        """Groups on screen were found with other settings: find again shortly (a burst of clicks is one)."""
        if self.found:
            self.stale_label.setText(f"{why} — finding groups again…")
            self._rerun.start()

    def find(self) -> None:
        self._rerun.stop()
        if self.busy:
            self._rerun.start()  # once the search under way is done
            return
        self.busy = True
        self.controller.check.cancel()   # the user's search takes over what the background check was verifying
        self.find_btn.setEnabled(False)
        self.status.setText("Grouping…")
        tier, thr, lib = self.tier(), self.threshold_value(), self.lib
        token = self._cancel = CancelToken()
        qp = workers.QtProgress(self)
        qp.updated.connect(self._find_progress)
        self.stop_btn.setEnabled(True)
        self.stop_btn.show()
        workers.run_task(lambda: _find_work(lib, tier, thr, qp.progress, token), self._found, self._find_failed)

    _PHASES = {"verifying": "Verifying pairs", "neighbours": "Finding neighbours",
               "signatures": "Matching turned copies"}

    def _find_progress(self, st) -> None:
        if self.busy and self._cancel is not None and not self._cancel.cancelled:
            label = self._PHASES.get(st.phase, (st.phase or "Grouping").capitalize())
            self.status.setText(f"{label} {st.done:,} / {st.total:,}…" if st.total else f"{label}…")

    def _stop_finding(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self.stop_btn.setEnabled(False)
            self.status.setText("Stopping…")

    def _end_finding(self) -> None:
        self.busy = False
        self._cancel = None
        self.stop_btn.hide()
        self.find_btn.setEnabled(True)

    def _found(self, result) -> None:
        groups, hashes, skipped = result
        by_id = {m.file_id: str(m.path) for g in groups for m in g.members}
        self.hashes = {by_id[i]: h for i, h in hashes.items() if i in by_id}
        self.set_groups(groups)
        if skipped:
            n = len(skipped)
            self.status.setText(self.status.text() + f" · {n} photo{'s' if n != 1 else ''} not verified")
            head = "Not compared with their keeper" if self.tier() == "similar" else "Left out of the groups"
            self.status.setToolTip(head + ":\n" + "\n".join(f"{p}: {why}" for p, why in skipped[:20])
                                   + (f"\n… and {n - 20} more" if n > 20 else ""))
        else:
            self.status.setToolTip("")

    def _find_failed(self, e) -> None:
        self._end_finding()
        if isinstance(e, Cancelled):
            self.status.setText("Stopped: the pairs verified so far are kept")
            return
        self.status.setText("")
        self.message.emit("Find duplicates", str(e) or type(e).__name__)
