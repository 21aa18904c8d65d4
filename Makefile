# The two first commands of the README:
#   make run    set up (first time only) and launch RVC Studio
#   make test   set up (first time only, with test tools) and run the whole test suite
.PHONY: run test bench app clean

run:
	@scripts/setup.sh
	@.venv/bin/rvc-studio

test:
	@scripts/setup.sh --dev
	@scripts/test.sh

# Benchmarks print ratios measured side by side in one run (see README).
bench:
	@scripts/setup.sh --dev
	@for b in synth features library pipeline; do echo "== benchmarks/$$b.py"; .venv/bin/python -m benchmarks.$$b || exit 1; done

clean:
	rm -rf .venv build dist *.egg-info
