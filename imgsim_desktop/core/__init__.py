"""The headless engine. Nothing in this package may import Qt: the CLI and tests run it without a display."""
