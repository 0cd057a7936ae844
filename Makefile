# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test fuzz lint typecheck bench install browser lock clean checkov-venv checkov soak package artifact-check sam-venv

# Recreated when the pinned set changes; pip reuses what is already there.
$(STAMP): requirements/dev.in requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.in -c requirements/constraints.txt
	@touch $(STAMP)

install: $(STAMP)

## run: start the local cloud, deploy template.yaml, run every service on sample streams (ARGS=--once to exit)
run: install
	$(BIN)/python -m local $(ARGS)

## test: lint, type-check, check the built artifact, run the whole test suite (browser tests, checkov,
##       sam validate --lint and cfn-lint-serverless included)
test: install browser checkov-venv sam-venv
	$(BIN)/ruff check .
	$(BIN)/mypy shared local services
	PYTHONPATH=.:shared:services/cost_calculator:services/human_review:services/pii_redaction:services/race_predictor $(BIN)/lint-imports --no-cache
	$(BIN)/python -m local.artifact check
	@$(BIN)/python -m pytest $(ARGS); status=$$?; \
	if [ ! -x $(CHROMIUM) ]; then \
	  echo "make test: the browser tests (dashboard, reviewer page) did NOT run: no Chromium at $(CHROMIUM)"; \
	  echo "make test: $$(cat .local/browser-install.log 2>/dev/null | tail -1)"; \
	  if [ "$$ALLOW_NO_BROWSER" = 1 ]; then echo "make test: ALLOW_NO_BROWSER=1, so this run passes without them"; \
	  else echo "make test: FAILED for want of a browser (install chromium, or set ALLOW_NO_BROWSER=1 to accept)"; exit 1; fi; \
	fi; exit $$status

## fuzz: every in-process property test with the deep Hypothesis profile (random, FUZZ_SCALE=20 times the
##       examples of `make test`); failures are kept in tests/fuzz/hypothesis-db/ (commit them, and copy each
##       into its test as an @example); prints the examples tried per property
fuzz: install
	$(BIN)/python -m pytest -m "hypothesis and not system and not browser" --hypothesis-profile=fuzz \
	  --hypothesis-show-statistics -q $(ARGS)

## package: build the deployable artifact (.aws-sam/build, arm64 + python3.11 as template.yaml says); then `sam deploy`
package: install
	$(BIN)/python -m local.artifact package

## artifact-check: build the artifact and the local cloud's host copy, inspect both (also part of `make test`)
artifact-check: install
	$(BIN)/python -m local.artifact check

## browser: Debian's Chromium for the browser tests (Playwright cannot download browsers here)
CHROMIUM := /usr/bin/chromium
browser:
	@mkdir -p .local; test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "apt-get install chromium failed (see above)" > .local/browser-install.log; \
	  else echo "not root: cannot apt-get install chromium" > .local/browser-install.log; fi; }

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy shared local services

## bench: every benchmark in bench/ but the soak (prints figures; asserts nothing on time)
bench: install
	@for b in bench/*.py; do [ "$$b" = bench/soak.py ] && continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

## lock: re-pin the full dependency set after changing requirements/dev.in
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^pitwall' > requirements/constraints.txt

clean:
	rm -rf $(VENV) .venv-checkov .venv-sam .local .aws-sam .pytest_cache .ruff_cache .mypy_cache

# --- hardening (issue 8)
CHECKOV_STAMP := .venv-checkov/.installed
# checkov pins boto3 1.35 (the project pins 1.44), so it gets a venv of its own.
$(CHECKOV_STAMP): requirements/checkov.txt
	@test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	@touch $(CHECKOV_STAMP)

## checkov-venv: checkov in its own venv (used by tests/security/test_checkov.py)
checkov-venv: $(CHECKOV_STAMP)

## checkov: checkov on template.yaml (justified skips are comments next to each resource)
checkov: checkov-venv
	.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact

## soak: 10 minutes of 10x real-time replay through the local cloud (loopback); prints counts, memory, p99
soak: install
	$(BIN)/python bench/soak.py $(ARGS)
# --- end hardening

# --- packaging (issue 13)
SAM_STAMP := .venv-sam/.installed
# SAM CLI pins boto3, cfn-lint and more against requirements/constraints.txt, so it gets a venv of its own.
$(SAM_STAMP): requirements/sam.txt
	@test -x .venv-sam/bin/python || $(PYTHON) -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	@touch $(SAM_STAMP)

## sam-venv: SAM CLI in its own venv (.venv-sam/bin/sam: validate --lint, deploy)
sam-venv: $(SAM_STAMP)
# --- end packaging
