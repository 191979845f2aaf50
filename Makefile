# One-command entry points (see README). Works on a fresh Debian machine as root, or with the tools present.
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := g++ make yosys verilator

.PHONY: setup system-deps run convert-demo test test-slow test-all bench clean

system-deps:
	@missing=""; for t in g++ yosys verilator; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); fi; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: system-deps $(VENV)/.installed

run: setup
	$(VENV)/bin/dse run studies/quickstart.yml

convert-demo: setup
	$(PY) studies/quickstart_convert.py --out runs/convert-demo

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow"

bench: setup
	$(PY) bench/converter_throughput.py

clean:
	rm -rf runs build *.egg-info .pytest_cache
