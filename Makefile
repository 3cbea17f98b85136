# childlink: the verbs. `make run` brings the system up on this machine; `make test` passes every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON313 ?= $(shell command -v python3.13 2>/dev/null || ls -1d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -n1)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
RUN := $(UV) run --frozen --no-sync
N ?= 20
PYTEST_ARGS ?=
# bench-first-load measures the bulk entry (docs/first-load.md); empty measures the live path
FIRST_LOAD_MODE ?= --bulk

.PHONY: help install system-packages broker run up stop down status users demo simulate test test-fast lint contracts clean bench-identity bench reliability bench-monitor bench-insights dedup import-43 fhir-export bench-first-load bench-replicas first-load

help:
	@echo "make run       install, start RabbitMQ if needed, start every service, simulate $(N) children, print URLs"
	@echo "make stop      stop the services started by make run"
	@echo "make users     (re)set every demo staff user's password to the local demo password, and list them"
	@echo "make test      install and run every test (unit, contract, storage on SQLite and MongoDB-wire, e2e)"
	@echo "make simulate N=200   drive the running ingest APIs with N simulated children"
	@echo "make contracts regenerate contracts/generated (AsyncAPI, JSON Schemas)"
	@echo "make lint      ruff"
	@echo "make reliability  fault and bad-input suite at full size (~10-20 min), writes docs/reliability-report.md"
	@echo "make bench     throughput, latency, reads, memory and cost growth on the real broker; writes docs/benchmark-report.md"
	@echo "make bench-identity   identity matching: precision/recall, review share, match() latency among 300,000 children"
	@echo "make bench-monitor    referral throughput with and without the monitor tapping every flow"
	@echo "make import-43 DIR=export IMPORT43_ARGS='--district 1001'   a health centre's 43-file export into the health service"
	@echo "make fhir-export DISTRICT=1001   FHIR R4 NDJSON of a district's children (var/fhir-1001)"
	@echo "make bench-first-load 1,000,000 events over 300,000 children end to end through the bulk entry (make first-load), then dedup; FIRST_LOAD_ARGS=--events 30000 --children 9000; FIRST_LOAD_MODE= for the live path (ingest APIs, broker)"
	@echo "make bench-replicas   the referral partitioned by child: 1 vs 2 replicas, events/s and CPU per event, floor beside"
	@echo "make bench-insights   the city's figures with 300,000 children: events/s, page p99, rebuild"
	@echo "make first-load FILE=history.jsonl   a first load of history into an empty system, services stopped: the referral's and the city's bulk loads at once, then dedup (docs/first-load.md); FIRST_LOAD_FLAGS=--into-existing"
	@echo "make dedup     link the children a first load of history (REFERRAL_MATCHING=0) left apart; DEDUP_ARGS=--dry-run"

$(UV):
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found (pyenv install 3.13, or set PYTHON313=...)"; exit 1; }
	$(PYTHON313) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV)
	$(UV) sync --frozen --python $(PYTHON313)

broker:
	deploy/scripts/ensure-rabbitmq.sh

system-packages:
	deploy/scripts/ensure-system-packages.sh

run: install broker up
	$(RUN) python -m childlink_tools.simulator --children $(N)
	$(RUN) python -m childlink_tools.demo
	@echo
	@echo "childlink is running (embedded store: var/data; logs: var/log). Open:"
	@echo "  staff pages                 http://127.0.0.1:8100/   (users: hc.somsri, hosp.anan, cdc.malee, school.pim, sw.kanya,"
	@echo "                              district.wichai, health.dept, reg.suda, exec.prapa, head.wilai, ops.niran, audit.ratana;"
	@echo "                              password childlink-demo; make users)"
	@echo "  the city's figures          http://127.0.0.1:8100/city   (exec.prapa, district.wichai, head.wilai)"
	@echo "  RabbitMQ console            http://127.0.0.1:15672  (guest/guest)"
	@echo "  health ingest               http://127.0.0.1:8103/health   (POST /v1/events, X-API-Key: dev-health-key)"
	@echo "  referral timelines          http://127.0.0.1:8105/health   (GET /v1/children/<id>/timeline, X-API-Key: dev-staff-key)"
	@echo "  message flows (JSON)        http://127.0.0.1:8106/v1/overview   (operators: /operator on the staff pages)"
	@echo "Stop it with: make stop"

up:
	$(RUN) python -m childlink_common.launcher up

stop down:
	@test -x $(UV) && $(RUN) python -m childlink_common.launcher down || true

status:
	@$(RUN) python -m childlink_common.launcher status

users: install
	$(RUN) python -m childlink_gateway.seed --local

demo: install
	$(RUN) python -m childlink_tools.demo

simulate:
	$(RUN) python -m childlink_tools.simulator --children $(N)

test: install system-packages broker
	$(RUN) python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(RUN) python -m pytest -m "not e2e" $(PYTEST_ARGS)

# The fault and bad-input suite at full size on a RabbitMQ node of its own (make test runs it short),
# then docs/reliability-report.md from its figures, written even when a scenario failed.
reliability: install
	rm -f var/reliability/full-*.json
	RELIABILITY_SCALE=full $(RUN) python -m pytest tests/reliability $(PYTEST_ARGS); status=$$?; \
	RELIABILITY_SCALE=full $(RUN) python -m tests.reliability.report --scale full; exit $$status

lint: install
	$(RUN) ruff check .

# BENCH_OPTS=--quick for a short trial run (small sizes); the report is only written by a full run
BENCH_OPTS ?= --report docs/benchmark-report.md
bench: install broker
	$(RUN) python bench/run.py $(BENCH_OPTS)

bench-monitor: install broker
	$(RUN) python bench/monitor_overhead.py $(BENCH_ARGS)

# A first load of history through the live path, timed from the first POST to the last event stored
bench-first-load: install broker
	$(RUN) python bench/first_load.py $(FIRST_LOAD_MODE) $(FIRST_LOAD_ARGS)

# the city's figures at Bangkok's size: 300,000 children, ~1,000,000 events, pages and rebuild (BENCH_ARGS=--children N)
bench-replicas: install broker
	$(RUN) python bench/replicas.py $(BENCH_ARGS)

bench-insights: install
	$(RUN) python bench/insights.py $(BENCH_ARGS)

bench-identity: install
	$(RUN) python -m childlink_referral.matching.bench $(BENCH_ARGS)

# After a first load of history taken in with REFERRAL_MATCHING=0: score every record against the other
# children once (link / review / new). DEDUP_ARGS: --dry-run, --report PATH, --limit N.
# a first load of history straight into the referral's and insights' stores (docs/first-load.md); then dedup
first-load: install
	@test -n "$(FILE)" || { echo "make first-load FILE=history.jsonl (one {\"department\": ..., \"event\": {...}} a line)"; exit 2; }
	REFERRAL_MATCHING=0 $(RUN) python -m childlink_referral.bulk_load $(FILE) --with-insights $(FIRST_LOAD_FLAGS)
	REFERRAL_MATCHING=1 $(RUN) python -m childlink_referral.dedup

dedup: install
	$(RUN) python -m childlink_referral.dedup $(DEDUP_ARGS)

contracts: install
	$(RUN) python -m childlink_contracts.docs

clean: stop
	rm -rf var .venv .tools

# A health centre's 43-file export into the running health service (docs/import-43.md).
# make import-43 DIR=path/to/export IMPORT43_ARGS="--district 1001"
import-43: install
	@test -n "$(DIR)" || { echo "give DIR=<folder with PERSON.txt, EPI.txt, ...>"; exit 2; }
	$(RUN) childlink-import-43 "$(DIR)" --department health $(IMPORT43_ARGS)

# Bulk FHIR R4 NDJSON of one district's children from the referral store (docs/fhir.md).
# make fhir-export DISTRICT=1001 OUT=var/fhir-1001
fhir-export: install
	@test -n "$(DISTRICT)" || { echo "give DISTRICT=10xx"; exit 2; }
	$(RUN) python -m childlink_referral.fhir.bulk --district "$(DISTRICT)" --out "$(or $(OUT),var/fhir-$(DISTRICT))" $(FHIR_ARGS)
