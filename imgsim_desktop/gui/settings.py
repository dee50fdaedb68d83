"""Settings stored with QSettings, and the dialog that edits them.

Defaults are chosen so a first-time user only picks a folder: the library lives in
``core.paths.default_library_dir()`` (which honours ``$IMGSIM_HOME``), the device is "auto", and the
duplicate thresholds are the library's own defaults (shown as "Default").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from ..core.paths import default_library_dir
from ..core.roots import is_excluded as _is_excluded

ORG = "imgsim"
APP = "imgsim-desktop"
DEVICES = ("auto", "cpu", "cuda")


def qsettings() -> QSettings:
    """INI file in the user's config dir (the native format on Linux; tests redirect it with setPath)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


@dataclass
class AppSettings:
    library_dir: str = ""  # "" = default_library_dir()
    device: str = "auto"
    duplicates_threshold: float | None = None  # None = the library's default for the tier
    similar_threshold: float | None = None
    excluded_folders: list[str] = field(default_factory=list)
    lookalikes_k: int = 24
    thumb_size: int = 160
    thumb_cache_mb: int = 512  # disk cache of thumbnails; least recently used ones go past this
    background_check: bool = True  # verify duplicate candidates after indexing, so "Find" answers at once
    excluded_in_library: bool = False  # the excluded folders live in the library (the CLI's too); this list
                                       # mirrors them, and was handed to the library once when it was older

    def library_home(self) -> Path:
        return Path(self.library_dir).expanduser() if self.library_dir else default_library_dir()

    def threshold_for(self, tier: str) -> float | None:
        return self.duplicates_threshold if tier == "duplicates" else self.similar_threshold

    # ------------------------------------------------------------------ QSettings
    @classmethod
    def load(cls, qs: QSettings | None = None) -> "AppSettings":
        qs = qs or qsettings()
        s = cls()

        def fnum(key):
            v = qs.value(key, "")
            try:
                return float(v) if v not in ("", None) else None
            except (TypeError, ValueError):
                return None

        s.library_dir = str(qs.value("library/dir", "") or "")
        dev = str(qs.value("engine/device", "auto") or "auto")
        s.device = dev if dev in DEVICES else "auto"
        s.duplicates_threshold = fnum("duplicates/threshold_duplicates")
        s.similar_threshold = fnum("duplicates/threshold_similar")
        ex = qs.value("library/excluded", [])
        if isinstance(ex, str):
            ex = [ex] if ex else []
        s.excluded_folders = [str(x) for x in (ex or [])]
        try:
            s.lookalikes_k = max(1, min(500, int(qs.value("lookalikes/k", 24))))
        except (TypeError, ValueError):
            pass
        try:
            s.thumb_cache_mb = max(16, min(100_000, int(qs.value("thumbnails/cache_mb", 512))))
        except (TypeError, ValueError):
            pass
        s.background_check = str(qs.value("duplicates/background_check", "true")).lower() not in ("false", "0")
        s.excluded_in_library = str(qs.value("library/excluded_in_library", "false")).lower() in ("true", "1")
        return s

    def save(self, qs: QSettings | None = None) -> None:
        qs = qs or qsettings()
        qs.setValue("library/dir", self.library_dir)
        qs.setValue("engine/device", self.device)
        qs.setValue("duplicates/threshold_duplicates",
                    "" if self.duplicates_threshold is None else self.duplicates_threshold)
        qs.setValue("duplicates/threshold_similar", "" if self.similar_threshold is None else self.similar_threshold)
        qs.setValue("library/excluded", list(self.excluded_folders))
        qs.setValue("lookalikes/k", self.lookalikes_k)
        qs.setValue("thumbnails/cache_mb", self.thumb_cache_mb)
        qs.setValue("duplicates/background_check", "true" if self.background_check else "false")
        qs.setValue("library/excluded_in_library", "true" if self.excluded_in_library else "false")
        qs.sync()


def pictures_dir() -> str:
    """Where folder and photo dialogs open: the user's Pictures folder (never the install folder)."""
    d = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    if d and Path(d).is_dir():
        return d
    return str(Path.home())


def is_excluded(path: str | Path, excluded: list[str]) -> bool:
    """The engine's rule (core/roots), so the GUI and the scanner agree on what is excluded."""
    return _is_excluded(path, excluded)


def threshold_spin(value: float | None) -> QDoubleSpinBox:
    """0.00 shows as "Default" (the model's own threshold for the tier); steps of 0.01 like the review box."""
    sp = QDoubleSpinBox()
    sp.setRange(0.0, 1.0)
    sp.setDecimals(2)
    sp.setSingleStep(0.01)
    sp.setSpecialValueText("Default")
    sp.setValue(value or 0.0)
    return sp


def spin_value(sp: QDoubleSpinBox) -> float | None:
    return None if sp.value() <= 0.0 else float(sp.value())


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None, folders: list | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.folders = [str(f) for f in folders or []]   # an excluded folder is one inside these
        form = QFormLayout()

        self.library_edit = QLineEdit(settings.library_dir)
        self.library_edit.setPlaceholderText(str(default_library_dir()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_library)
        row = QHBoxLayout()
        row.addWidget(self.library_edit, 1)
        row.addWidget(browse)
        form.addRow("Library location", row)

        self.device_combo = QComboBox()
        for d, label in zip(DEVICES, ("Automatic", "CPU", "CUDA (NVIDIA GPU)")):
            self.device_combo.addItem(label, d)
        self.device_combo.setCurrentIndex(DEVICES.index(settings.device))
        form.addRow("Device", self.device_combo)

        self.dup_spin = threshold_spin(settings.duplicates_threshold)
        self.sim_spin = threshold_spin(settings.similar_threshold)
        form.addRow("Duplicates threshold", self.dup_spin)
        form.addRow("Similar threshold", self.sim_spin)
        self.check_box = QCheckBox("Check new photos for duplicates in the background")
        self.check_box.setChecked(settings.background_check)
        self.check_box.setToolTip("After indexing, compare the photos that may be copies, so that Find on the "
                                  "Duplicates page answers at once. It uses the processor for a while after "
                                  "many new photos.")
        form.addRow("", self.check_box)

        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 500)
        self.k_spin.setValue(settings.lookalikes_k)
        form.addRow("Lookalikes shown", self.k_spin)

        self.cache_spin = QSpinBox()
        self.cache_spin.setRange(16, 100_000)
        self.cache_spin.setSuffix(" MB")
        self.cache_spin.setValue(settings.thumb_cache_mb)
        self.cache_spin.setToolTip("Thumbnails kept on disk; the least recently seen go beyond this size.")
        form.addRow("Thumbnail cache", self.cache_spin)

        self.excluded = QListWidget()
        self.excluded.addItems(settings.excluded_folders)
        self.excluded.setMaximumHeight(110)
        add_ex = QPushButton("Add…")
        rm_ex = QPushButton("Remove")
        add_ex.clicked.connect(self._add_excluded)
        rm_ex.clicked.connect(lambda: [self.excluded.takeItem(self.excluded.row(i))
                                       for i in self.excluded.selectedItems()])
        exrow = QVBoxLayout()
        exrow.addWidget(self.excluded)
        btns = QHBoxLayout()
        btns.addWidget(add_ex)
        btns.addWidget(rm_ex)
        btns.addStretch(1)
        exrow.addLayout(btns)
        form.addRow("Excluded folders", exrow)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel |
                                   QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def _browse_library(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Library location", self.library_edit.text() or
                                             str(default_library_dir()))
        if d:
            self.library_edit.setText(d)

    def _add_excluded(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Exclude folder", self.folders[0] if self.folders
                                             else pictures_dir())
        if d:
            self.excluded.addItem(d)

    def _defaults(self) -> None:
        d = AppSettings()
        self.library_edit.setText(d.library_dir)
        self.device_combo.setCurrentIndex(0)
        self.dup_spin.setValue(0.0)
        self.sim_spin.setValue(0.0)
        self.k_spin.setValue(d.lookalikes_k)
        self.cache_spin.setValue(d.thumb_cache_mb)
        self.excluded.clear()
        self.check_box.setChecked(d.background_check)

    def result_settings(self) -> AppSettings:
        s = AppSettings(**{**self.settings.__dict__})
        s.library_dir = self.library_edit.text().strip()
        s.device = self.device_combo.currentData()
        s.duplicates_threshold = spin_value(self.dup_spin)
        s.similar_threshold = spin_value(self.sim_spin)
        s.lookalikes_k = self.k_spin.value()
        s.thumb_cache_mb = self.cache_spin.value()
        s.background_check = self.check_box.isChecked()
        s.excluded_folders = [self.excluded.item(i).text() for i in range(self.excluded.count())]
        return s
