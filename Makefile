# The two commands of README.md, plus the pieces they are made of.
.PHONY: setup setup-engines lab test unit e2e release

PORT ?= 8888
JUPYTER_ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

setup:
	bash scripts/setup.sh

# The engines the end-to-end tests run on: podman for every module; docker too for the
# chapter 01, chapters 01-05 and catch-up modules (set-up then installs and starts docker.io).
# `make test E2E_ENGINES=podman` leaves docker out.
E2E_ENGINES ?= podman,docker
setup-engines:
	bash scripts/setup.sh $(if $(findstring docker,$(E2E_ENGINES)),--with-docker)

lab: setup
	JUPYTER_CONFIG_PATH=$(CURDIR)/configs/jupyterlab/student .venv/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(PORT) --ip=127.0.0.1 $(JUPYTER_ROOT_FLAG) \
		notebooks/01-getting-started.ipynb

test: setup-engines
	WORKSHOP_E2E_ENGINES=$(E2E_ENGINES) .venv/bin/python -m pytest -ra tests

unit: setup
	.venv/bin/python -m pytest -ra tests/unit

e2e: setup-engines
	WORKSHOP_E2E_ENGINES=$(E2E_ENGINES) .venv/bin/python -m pytest -ra tests/e2e

# Regenerate exercises/ from solutions/ (instructors, after editing a solution).
release: setup
	.venv/bin/python -m workshop.course release
