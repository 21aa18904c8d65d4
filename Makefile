# The two first commands of the README:
#   make run    set up (first time only) and launch RVC Studio
#   make test   set up (first time only, with test tools) and run the whole test suite
.PHONY: run test bench app app-smoke clean

run:
	@scripts/setup.sh
	@.venv/bin/rvc-studio

test:
	@scripts/setup.sh --dev
	@scripts/test.sh

# Benchmarks print ratios measured side by side in one run (see README).
bench:
	@scripts/setup.sh --dev
	@for b in synth features library pipeline cache_key preview covers; do echo "== benchmarks/$$b.py"; .venv/bin/python -m benchmarks.$$b || exit 1; done

# The macOS bundle (docs/macos-bundle.md): dist/RVC Studio.app, then its self-test.
NOT_MAC = echo "make $@ needs macOS: RVC Studio.app is built with py2app on a Mac (this is $$(uname -s)); see docs/macos-bundle.md"; exit 1
app:
	@[ "$$(uname -s)" = Darwin ] || { $(NOT_MAC); }
	@scripts/setup.sh
	@.venv/bin/python -c "import py2app" 2>/dev/null || .venv/bin/python -m pip install -q -e ".[app]"
	@rm -rf build/bdist.* "dist/RVC Studio.app"
	@.venv/bin/python setup_app.py py2app
	@du -sh "dist/RVC Studio.app"

app-smoke:
	@[ "$$(uname -s)" = Darwin ] || { $(NOT_MAC); }
	@[ -x "dist/RVC Studio.app/Contents/MacOS/RVC Studio" ] || { echo "no dist/RVC Studio.app: run make app first"; exit 1; }
	@"dist/RVC Studio.app/Contents/MacOS/RVC Studio" --self-test

clean:
	rm -rf .venv build dist *.egg-info
