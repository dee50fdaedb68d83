# The two commands the README promises: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean-venv install-desktop-entry

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@# Qt's own message for a missing X11 library names the wrong one: say which and how to install them.
	@$(BIN)/python -m imgsim_desktop.system check
	$(BIN)/imgsim-desktop

install-desktop-entry: $(STAMP)
	$(BIN)/imgsim-desktop --install-desktop-entry

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
