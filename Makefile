# The course kit's commands. Each creates the virtual environment .venv/ first if needed.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
RUN := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PYTHON)

.PHONY: demo test fidelity kill-matrix release samples lab browser hub hub-clean

$(INSTALLED): requirements.txt pyproject.toml package.json package-lock.json
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	@# feedback pages get their maths typeset by MathJax under Node.js (package.json pins it; coursekit/workflow/maths.py)
	command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; } || \
	    echo "WARNING: Node.js and npm are missing (apt-get install nodejs npm): feedback cannot be generated"
	if command -v npm >/dev/null; then npm ci --omit=dev --no-audit --no-fund --loglevel=error; fi
	@# grading sandboxes student code with bubblewrap (Debian package); install it when we can
	command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || \
	    echo "WARNING: bubblewrap is missing (apt-get install bubblewrap): grading will refuse to run unsandboxed"
	touch $(INSTALLED)

demo: $(INSTALLED)  ## release, autograde the sample students, feedback, export, per-exercise table
	$(RUN) -m homework3 demo

test: $(INSTALLED) browser  ## the whole test suite (at its end it lists any test that did not run, and why)
	$(RUN) -m pytest

fidelity: $(INSTALLED)  ## only the fidelity tests: stock nbgrader and the kit grade the same submissions (tests/fidelity)
	$(RUN) -m pytest tests/fidelity

browser:  ## Debian's chromium and chromedriver for the browser tests, installed when missing (as root)
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	    echo "WARNING: chromium or chromedriver is missing (apt-get install chromium chromium-driver): the browser tests will not run"

kill-matrix: $(INSTALLED)  ## grade the mutation catalogue and print who loses what
	$(RUN) -m homework3 kill-matrix --jobs 2

release: $(INSTALLED)  ## regenerate and check release/ of every assignment of source/, or of ASSIGNMENT=... (commit the result)
	@set -e; for assignment in $(or $(ASSIGNMENT),$(notdir $(patsubst %/,%,$(sort $(dir $(wildcard source/*/*.ipynb)))))); do \
	    $(RUN) -m coursekit release "$$assignment"; done

samples: $(INSTALLED)  ## regenerate samples/submitted from the release and the solutions
	$(RUN) -m homework3 samples

lab: $(INSTALLED)  ## JupyterLab for the course on 127.0.0.1 with nbgrader (formgrader, Validate); prints its URL and token
	$(RUN) -m coursekit.platforms.lab $(if $(PORT),--port $(PORT))

hub: $(INSTALLED)  ## JupyterHub for the course on 127.0.0.1 (an instructor, two students as system accounts, nbgrader's exchange); prints the passwords; needs root
	$(RUN) -m coursekit.platforms.hub $(if $(PORT),--port $(PORT))

hub-clean: $(INSTALLED)  ## remove the hub's accounts (and their homes), exchange and state (the installed proxy and users' environment stay in .hub/)
	$(RUN) -m coursekit.platforms.hub --clean
