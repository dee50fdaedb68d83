"""The desktop app (PySide6). Widgets call the core Library; no engine logic here."""
