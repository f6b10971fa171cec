# inorder: the two commands are `make demo` (the whole mission on the local cloud) and `make test`.
# Each creates or updates .venv from pinned requirements first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
PIP_VERSION := 26.3

DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo bench test serve lint sam-validate lock clean

$(STAMP): requirements.txt functions/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: $(STAMP)  ## the mission: 1,000 accounts, 10,000 events, 1 s each, on the embedded backend
	$(BIN)/python -m local demo $(DEMO_ARGS)

bench: $(STAMP)  ## mission vs Powertools vs LocalStack (model), overhead vs raw backend, scale; table + bench-results/bench.json
	$(BIN)/python -m local bench $(BENCH_ARGS)

test: $(STAMP)  ## unit + integration tests (+ e2e when INORDER_E2E_ENDPOINT is set)
	$(BIN)/python -m pytest

serve: $(STAMP)  ## keep the local cloud up; where it is: .inorder/serve.json
	$(BIN)/python -m local serve

lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

lock:  ## re-pin requirements.txt from requirements.in in a scratch venv
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet "pip==$(PIP_VERSION)" -r requirements.in
	(echo "# Pinned development environment: generated from requirements.in with 'make lock'."; \
	 .venv-lock/bin/python -m pip freeze --exclude pip) > requirements.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .inorder .aws-sam

include infra/deploy.mk
