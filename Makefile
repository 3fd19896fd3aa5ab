# Two commands for a fresh machine: `make book` and `make test`.
# Each creates .venv on first use and installs what it needs into it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

# Exact torch pins that make CI reproducible; pyproject.toml only declares ranges.
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
else
TORCH_PINS := torch==2.9.1 torchvision==0.24.1
endif

.PHONY: help install test book book-instructor clean

help:
	@echo "make book             build the book (executes every notebook) into _build/html,"
	@echo "                      and the solution-free notebooks into _build/student/notebooks"
	@echo "make book-instructor  the same, with exercise solutions shown"
	@echo "make test             run the test suite (includes executing the notebooks)"

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PINS)
	$(PIP) install --quiet -e ".[lite,lite12,test,book,dask]" $(TORCH_PINS)
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium (Debian's package) for the test that looks at the rendered book.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	      echo "note: could not install chromium; the browser test will be skipped"; \
	  fi; }

test: $(STAMP) chromium
	$(PY) -m pytest -q

book: $(STAMP)
	$(PY) -m soundad.book build

book-instructor: $(STAMP)
	SOUNDAD_INSTRUCTOR=1 $(PY) -m soundad.book build

clean:
	rm -rf _build
