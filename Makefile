# Inside [CLS]: the two commands are `make lab` (start the course) and `make test` (run every test).
# Both create .venv on first use and install the exact pins from requirements-lock.txt;
# later runs skip the install unless the lock or pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := inside-cls

LAB_IP    ?= 127.0.0.1
LAB_PORT  ?= 8888
LAB_OPEN  ?= yes
LAB_START ?= notebooks/00_start_here.ipynb

.PHONY: help setup lab test test-fast html slides mini-bert mini-bert-twins minilm-nsp experiments readme clean-cache

# Every target has a "## " comment on its line; `make help` prints them all.
help: ## list every target
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 20

$(STAMP): requirements-lock.txt pyproject.toml jupyter/overrides.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-lock.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (Inside [CLS])" >/dev/null
	@mkdir -p $(VENV)/share/jupyter/lab/settings && cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/
	@touch $(STAMP)
	@echo "Set-up done: $(VENV) holds the course's packages and the '$(KERNEL)' kernel."

setup: $(STAMP) ## only create .venv and install the pinned packages

# JupyterLab on 127.0.0.1 with a fresh random token (never blank); LAB_TOKEN, LAB_PORT, LAB_IP override.
lab: $(STAMP) ## set up (first time only) and open the course in JupyterLab
	@token="$${LAB_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))')}"; \
	browser=""; [ "$(LAB_OPEN)" = "yes" ] || browser="--no-browser"; \
	root=""; [ "$$(id -u)" != 0 ] || root="--allow-root"; \
	echo; echo "  Inside [CLS] is starting. Open this address in your browser (Ctrl+C here stops it):"; \
	echo "  http://$(LAB_IP):$(LAB_PORT)/lab/tree/$(LAB_START)?token=$$token"; echo; \
	exec $(BIN)/jupyter lab $$browser $$root --ServerApp.ip=$(LAB_IP) --ServerApp.port=$(LAB_PORT) \
		--ServerApp.port_retries=0 --IdentityProvider.token="$$token" \
		--MultiKernelManager.default_kernel_name=$(KERNEL) \
		--ServerApp.root_dir="$(CURDIR)" $(LAB_START)

test: $(STAMP) ## set up (first time only) and run the whole test suite in quick mode (what CI runs)
	CLS_QUICK=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only: no notebook execution, no browser, no set-up test (about a minute).
test-fast: $(STAMP) ## unit tests only (no notebooks, no browser); a minute or so
	CLS_QUICK=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Static reading and classroom slides; both need npm once (offline widget renderer, reveal.js).
html: $(STAMP) ## execute every notebook and export HTML (build/html/index.html)
	$(BIN)/python tools/export.py html --out build/html

slides: $(STAMP) ## execute every notebook and export reveal.js slides (build/slides/index.html)
	$(BIN)/python tools/export.py slides --out build/slides

# Re-train the course's mini-BERT checkpoint in data/mini-bert (same seed, same result; see notebook 04).
mini-bert: $(STAMP) ## retrain the shipped mini-BERT and its twins in data/mini-bert (about 10 minutes)
	$(BIN)/python -m helpers.lessons.nsp_pretraining --out data/mini-bert

# The position twins of notebook 04 (issue 13): the mini-BERT pretrained with its pair head reading [CLS] at the
# start, the end, the middle, or the mean (no [CLS]); seeds 0 and 1, one run per CPU core.
mini-bert-twins: $(STAMP) ## pretrain the mini-BERT's position twins, write data/results/position_twins.json (about 20 min on 2 cores)
	$(BIN)/python -m helpers.lessons.nsp_pretraining --twins

# minilm-nsp (issue 13): the embedded MiniLM's top layers, pooler and a new NSP head trained on data/nsp_corpus;
# ships compactly in data/models/minilm-nsp (same seed, same numbers with the same thread count).
minilm-nsp: $(STAMP) ## continue pretraining the embedded MiniLM with NSP, write data/models/minilm-nsp (about 40 min on 2 cores)
	$(BIN)/python -m helpers.core.continued_nsp

# The fine-tuning sweep of notebooks 02 and 06 (issue 12): every readout x 3 seeds, resumable (cached runs in
# .cache/sweep), one run per CPU core; writes data/results/finetune_sweep.json and data/models/embedded-cls-tuned.
experiments: $(STAMP) ## run the fine-tuning sweep and ship its results (about 45 min on 2 cores; resumable)
	$(BIN)/python -m helpers.core.sweep $(SWEEP_ARGS)

# The README's notebook table is generated from the notebooks (a test checks it is up to date).
readme: $(STAMP) ## regenerate the README's notebook table from the notebooks' titles and questions
	$(BIN)/python tools/readme.py

clean-cache: ## delete the computed feature cache (.cache)
	rm -rf .cache
