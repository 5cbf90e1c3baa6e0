# The two commands a newcomer types: `make demo` and `make test`. Both set up first.
.PHONY: setup demo test build lint typecheck
setup:
	@scripts/setup.sh
demo: setup
	@scripts/demo.sh
test: setup
	@scripts/test.sh
build: setup
lint typecheck:
	@bash -c 'source scripts/env.sh && turbo run $@'
