# The verbs a newcomer types. Run as root on Debian 12.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LABCTL := $(VENV)/bin/labctl
INVENTORY ?= inventories/local
APT_PACKAGES := python3 python3-venv python3-pip iproute2 iptables util-linux procps psmisc \
	openssh-server openssh-client crun containernetworking-plugins busybox-static \
	skopeo umoci curl ca-certificates
STAMP_APT := $(VENV)/.apt-installed
STAMP_VENV := $(VENV)/.installed

.PHONY: up down test test-unit test-integration bench install clean

up: install
	$(LABCTL) up -i $(INVENTORY)

down:
	@if [ -x $(LABCTL) ]; then $(LABCTL) down -i $(INVENTORY); else echo "nothing to do: no $(VENV)"; fi

install: $(STAMP_VENV)

$(STAMP_APT):
	@test "$$(id -u)" = 0 || { echo "make: run as root (labctl creates network namespaces)"; exit 2; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null
	mkdir -p $(VENV) && touch $@

$(STAMP_VENV): $(STAMP_APT) pyproject.toml
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' uv
	touch $@

test: install
	$(PY) -m pytest -q -ra tests

test-unit: install
	$(PY) -m pytest -q -ra tests/unit

test-integration: install
	$(PY) -m pytest -q -ra tests/integration

bench: install
	$(PY) bench/up.py --json

clean: down
	rm -rf $(VENV) build *.egg-info
