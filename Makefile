# The verbs a newcomer types. Run as root on Debian 12.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LABCTL := $(VENV)/bin/labctl
PROVIDER ?= netns
INVENTORY ?= $(if $(filter vagrant,$(PROVIDER)),inventories/vagrant,inventories/local)
APT_PACKAGES := python3 python3-venv python3-pip iproute2 iptables util-linux procps psmisc \
	openssh-server openssh-client crun containernetworking-plugins busybox-static \
	skopeo umoci nginx-light curl ca-certificates docker-registry \
	ruby php8.2-cli bind9-dnsutils bind9-host
STAMP_APT := $(VENV)/.apt-installed
STAMP_VENV := $(VENV)/.installed

.PHONY: up down test test-unit test-integration test-vagrant bench install clean host-vagrant

up: install $(if $(filter vagrant,$(PROVIDER)),host-vagrant)
	$(LABCTL) up -i $(INVENTORY)

# VMs: vagrant, vagrant-libvirt, libvirt daemons (started by hand without systemd), qemu.
host-vagrant:
	scripts/host-setup-vagrant.sh

down:
	@if [ -x $(LABCTL) ]; then $(LABCTL) down -i $(INVENTORY); else echo "nothing to do: no $(VENV)"; fi

install: $(STAMP_VENV)

$(STAMP_APT): Makefile
	@test "$$(id -u)" = 0 || { echo "make: run as root (labctl creates network namespaces)"; exit 2; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null
	mkdir -p $(VENV) && touch $@

$(STAMP_VENV): $(STAMP_APT) pyproject.toml
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check 'setuptools>=70' wheel -e '.[test]' uv
	touch $@

test: install
	$(PY) -m pytest -q -ra tests/unit tests/integration

test-unit: install
	$(PY) -m pytest -q -ra tests/unit

test-integration: install
	$(PY) -m pytest -q -ra tests/integration

# Opt-in: builds the box if needed, 1 master + 2 workers as VMs, smoke, a worker stopped,
# everything torn down. Slow under QEMU emulation (no KVM) on a 2-core host: about
# 13 minutes when the host is otherwise idle, more when it is busy; much faster with KVM.
test-vagrant: install host-vagrant
	LABCTL_TEST_VAGRANT=1 $(PY) -m pytest -q -ra tests/vagrant

bench: install
	$(PY) bench/up.py --json

clean: down
	rm -rf $(VENV) build *.egg-info
