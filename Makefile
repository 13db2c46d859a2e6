# The course kit's commands. Each creates the virtual environment .venv/ first if needed.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
RUN := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PYTHON)

.PHONY: demo test kill-matrix release samples lab hub hub-clean

$(INSTALLED): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	@# grading sandboxes student code with bubblewrap (Debian package); install it when we can
	command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || \
	    echo "WARNING: bubblewrap is missing (apt-get install bubblewrap): grading will refuse to run unsandboxed"
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

lab: $(INSTALLED)  ## JupyterLab for the course on 127.0.0.1 with nbgrader (formgrader, Validate); prints its URL and token
	$(RUN) -m hw3kit.lab $(if $(PORT),--port $(PORT))

hub: $(INSTALLED)  ## JupyterHub for the course on 127.0.0.1 (an instructor, two students as system accounts, nbgrader's exchange); prints the passwords; needs root
	$(RUN) -m hw3kit.hub $(if $(PORT),--port $(PORT))

hub-clean: $(INSTALLED)  ## remove the hub's accounts (and their homes), exchange and state (the installed proxy and users' environment stay in .hub/)
	$(RUN) -m hw3kit.hub --clean
