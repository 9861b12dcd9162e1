# Entry points for people and CI. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
# Extra arguments for ansible-playbook, e.g. make site ARGS="--tags base"
ARGS ?=
# Molecule scenarios `make molecule` runs, in lanes side by side (see scripts/molecule-lanes): postgres and localstack
# share the default project, default and default@2.17 the fullstack one, so each pair shares a lane; sentry, tools
# and workstation have projects, containers and ports of their own. One scenario: LANES=tools. Two lanes because the
# machine has 2 cores: three made each scenario 1.7-2.5 times slower. Each lane starts with a scenario whose images
# build first (`make test` builds them beside the lanes): postgres, and workstation; sentry's Phoenix and the aws
# phase's LocalStack take longest. Durations in a full `make test` on a clean clone (2026-12-01, a 2-core AMD VM,
# images built before): postgres 336 s, localstack 499, tools 351 | sentry 507, workstation 242, default 399,
# default@2.17 79 (converge, idempotence and purge only); CI 21.4 min. With no image on the machine (built beside the
# lanes, side by side): 644, 466, 319 | 731 (workstation first), 329, 364, 73; CI 26.2 min (the first scenarios of
# each lane shared the disk with seven builds). Built one after another (STANDIN_ORDER): 342, 700 (3.8 min of it
# waiting for LocalStack's image), 314 | 377, 496, 356, 80; CI 26.4 min.
# default@2.17: the full stack once more on the oldest ansible-core the collection claims (scripts/molecule-lanes).
LANES ?= "postgres localstack tools" "workstation sentry default default@2.17"
# The ansible-core releases meta/runtime.yml claims besides .venv's newest (2.21): lint, sanity and units run on each
# in a venv of its own (.cache/core-X.Y, scripts/core-venv). `make matrix` runs them all; `make test` (CI) the oldest
# (before 2.19's new templating) and 2.19 (what requirements.txt installs with Python 3.11). Each core takes one of
# CI's 2 cores from the Molecule lanes that run beside for a minute or two (2026-11-30: 2.17 103 s, 2.19 59 s).
CORES ?= 2.17 2.18 2.19 2.20
TEST_CORES ?= 2.17 2.19
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
LINK := .ansible/collections/ansible_collections/bestshot/devenv

.PHONY: help setup setup-dev site status check teardown purge standins browser lint sanity units molecule test benchmark build clean
.PHONY: matrix docs ee galaxy-import collection-checks

help:
	@echo "make site       set up .venv, then provision this workstation (ARGS='--tags base' for one phase)"
	@echo "make standins   build the stand-in images (only for machines that cannot pull images)"
	@echo "make status     show each service's state, health, URL and where its credentials are"
	@echo "make check      is my stack OK? each phase end to end, as the app reaches it (ARGS='--tags aws')"
	@echo "make teardown   stop the stack, data kept (ARGS='--tags base' for one phase)"
	@echo "make purge      remove the stack: containers, volumes, secrets, env blocks"
	@echo "make test       set up the test tools, lint, sanity, unit tests, then every Molecule scenario"
	@echo "make benchmark  time site.yml against docker compose on the same containers, and their idle memory"
	@echo "make build      build the collection tarball"
	@echo "make docs       build the documentation site into .cache/docs/html (strict, links checked)"
	@echo "make matrix     lint, sanity and unit tests on every older ansible-core the collection claims (CORES)"
	@echo "make ee         check the execution environment definition (ansible-builder create, introspect)"
	@echo "make galaxy-import  run galaxy-importer on the built tarball, as Galaxy does on upload"

$(VENV)/.run-deps: requirements.txt
	@python=$$(scripts/find-python); echo "Using $$python ($$($$python --version))"; \
	  [[ -x $(VENV)/bin/python ]] || $$python -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# Playbooks in this checkout use FQCNs (bestshot.devenv.postgres): link the checkout as that collection.
$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../../.. $(LINK)

setup: $(VENV)/.run-deps $(LINK)

setup-dev: $(VENV)/.dev-deps $(LINK)

site: setup
	ansible-playbook site.yml $(ARGS)

status: setup
	ansible-playbook playbooks/status.yml $(ARGS)

check: setup
	ansible-playbook playbooks/check.yml $(ARGS)

teardown: setup
	ansible-playbook playbooks/teardown.yml $(ARGS)

purge: setup
	ansible-playbook playbooks/teardown.yml -e devenv_teardown=purge $(ARGS)

standins: setup
	ansible-playbook tests/standins/build.yml $(ARGS)

lint: setup-dev
	python scripts/check-argument-specs
	ansible-lint --profile production
	antsibull-changelog lint
	scripts/check-build

# ansible-test sanity on the modules (no ignore list).
sanity: setup-dev
	scripts/sanity

units: setup-dev
	python -m pytest -q -p no:cacheprovider tests/unit --junit-xml=.cache/junit/units.xml

# The tests drive a real browser: Debian's chromium and its driver (installed when missing; needs root or sudo).
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium chromium-driver; \
	fi

molecule: setup-dev browser
	scripts/molecule-lanes $(LANES)

# Everything CI runs; closes with one line adding up every test: "summary: N passed, N failed".
# The stand-in images build in the background from the start (mostly downloads and disk writes; log in
# .cache/standins.log), beside the static checks (lint, sanity, units, which mostly compute) and the browser, and then
# beside the Molecule lanes: a scenario's prepare waits only for the images it needs (STANDINS_BUILDER_PID,
# tests/standins/wait.yml), so each lane starts once its first images are there, not once all are. They build one
# after another in the order the lanes need them (STANDIN_ORDER), rather than side by side, where all seven shared the
# disk with each other and with the first scenarios. Beside the lanes run the collection checks (older cores, docs,
# EE, Galaxy import): the lanes mostly wait on containers.
STANDIN_ORDER ?= postgres workstation bugsink phoenix localstack pgadmin swagger-ui
test: setup-dev
	rm -rf .cache/junit
	mkdir -p .cache
	( status=0; for image in $(STANDIN_ORDER); do \
	    ansible-playbook tests/standins/build.yml -e '{"standin_images": ["'$$image'"]}' || status=1; done; \
	  exit $$status ) > .cache/standins.log 2>&1 & builder=$$!; \
	export STANDINS_BUILDER_PID=$$builder; status=0; \
	$(MAKE) --jobs=2 --output-sync=target lint sanity browser units || { status=$$?; { pkill -P $$builder; kill $$builder; } 2>/dev/null || true; }; \
	if [ $$status -eq 0 ]; then $(MAKE) --jobs=2 --output-sync=target molecule collection-checks || status=$$?; fi; \
	wait $$builder || { [ $$status -ne 0 ] || { echo "== the stand-in build failed:"; tail -n 40 .cache/standins.log; }; status=1; }; \
	[ $$status -eq 0 ] && python scripts/test-summary .cache/junit

matrix: setup-dev
	scripts/core-matrix $(CORES)

docs: setup-dev
	scripts/build-docs

ee: setup-dev
	scripts/check-ee

galaxy-import: setup-dev
	scripts/galaxy-import

collection-checks:
	$(MAKE) --jobs=1 matrix docs ee galaxy-import CORES="$(TEST_CORES)"

# site.yml against docker compose on the same containers: bring-up times and idle memory (prints figures).
benchmark: setup
	$(MAKE) standins ARGS=  # ARGS are the benchmark's (e.g. --only stack), not the image build's
	python scripts/benchmark $(ARGS)

build: setup
	ansible-galaxy collection build --force

clean:
	rm -rf $(VENV) .ansible .cache bestshot-devenv-*.tar.gz
