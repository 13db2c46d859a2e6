# The course kit's commands. Each creates the virtual environment .venv/ first if needed.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
RUN := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PYTHON)

.PHONY: demo test kill-matrix release samples

$(INSTALLED): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

demo: $(INSTALLED)  ## release, autograde the sample students, feedback, export, per-exercise table
	$(RUN) -m hw3kit demo

test: $(INSTALLED)  ## the whole test suite
	$(RUN) -m pytest

kill-matrix: $(INSTALLED)  ## grade the mutation catalogue and print who loses what
	$(RUN) -m hw3kit kill-matrix --jobs 2

release: $(INSTALLED)  ## regenerate release/hw3 from source/hw3 (commit the result)
	$(RUN) -m nbgrader generate_assignment hw3 --force

samples: $(INSTALLED)  ## regenerate samples/submitted from the release and the solutions
	$(RUN) -m hw3kit samples
