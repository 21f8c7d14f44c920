# Task runner. The README names the two commands a fresh machine needs: `make demo`, `make test`.
UV := ./scripts/uv.sh
RUN := $(UV) run --frozen

.PHONY: setup demo test lint typecheck pytest schema pulumi bench clean

setup:  ## install uv if needed, the locked dependencies into .venv, all compiled to bytecode
	$(UV) sync --frozen --compile-bytecode
	$(RUN) python -m compileall -q provider

demo: setup  ## the main job: sandbox + OpenBao + Pulumi, all on loopback
	$(RUN) python scripts/demo.py

test: setup lint typecheck pulumi pytest  ## the whole suite: ruff, mypy --strict, pytest

lint:
	$(RUN) ruff check provider tests bench scripts examples pulumi_program
	$(RUN) ruff format --check provider tests bench scripts examples pulumi_program

typecheck:
	$(RUN) mypy

pytest:  ## two workers (pytest-xdist), a test file per worker at a time: 9.6 min instead of 18 on 2 cores
	$(RUN) pytest -n 2 --dist loadfile

schema: setup  ## regenerate environment.schema.json and the package schema schema.json
	$(RUN) acumatica-ds schema > environment.schema.json
	$(RUN) python -m acumatica_datasource.resource.package_schema > schema.json

pulumi: setup  ## locate or build the Pulumi CLI (a one-time build of a few minutes)
	$(RUN) python -m acumatica_datasource.tooling

bench: setup  ## every benchmark (a few minutes); figures in docs/performance.md
	$(RUN) python bench/startup.py
	$(RUN) python bench/validate.py
	$(RUN) python bench/sandbox.py
	$(RUN) python bench/verify.py
	$(RUN) python bench/parallel.py
	$(RUN) python bench/stack.py
	$(RUN) python bench/hostile.py
	$(RUN) python bench/backend.py

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache .hypothesis
