"""The first-run page of the Library tab: what the app does, what to do first, and the button to do it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

TEXT = """<h2>Find duplicate and similar photos</h2>
<p>imgsim looks at the pictures themselves, not their names, and works entirely on this computer.</p>
<ol>
<li><b>Add a folder</b> of photos (or drop one on this window). It is indexed once, then watched.</li>
<li><b>Duplicates</b> groups copies, re-saves and edits of the same photo; you choose what to keep,
and anything you remove goes to the trash, with undo.</li>
<li><b>Lookalikes</b>: drop or paste any photo to see the ones that look like it.</li>
</ol>"""


class Welcome(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = QLabel(TEXT)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setFixedWidth(560)
        # a centred widget gets its size hint, not its height for this width: say the height outright
        self.text.setMinimumHeight(self.text.heightForWidth(560))
        self.add_btn = QPushButton("Add folder…")
        self.add_btn.setDefault(True)
        self.add_btn.setMinimumHeight(36)
        self.add_btn.setMinimumWidth(180)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(self.text, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(12)
        lay.addWidget(self.add_btn, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(2)
