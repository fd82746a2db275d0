# Kiln: two commands on a fresh Debian 12 machine with the Swift toolchain.
#   make demo   install what is missing, build in release, run the main demo
#   make test   install what is missing, build, run every test (Swift Testing + NumPy oracle)
SWIFT      ?= swift
DEB_DEPS   := libopenblas-dev llvm-dev dataset-fashion-mnist zlib1g-dev
KILN_DEBUG := .build/debug/kiln
KILN       := .build/release/kiln
PYTHON     ?= python3

.PHONY: deps pydeps build release test demo bench clean

# Install the Debian packages Kiln links against or reads, only when dpkg says they are missing.
deps:
	@missing=""; for p in $(DEB_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# NumPy for the independent oracle, installed with pip when missing.
pydeps:
	@$(PYTHON) -c "import numpy" 2>/dev/null || $(PYTHON) -m pip install -q numpy

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps pydeps
	$(SWIFT) build
	$(SWIFT) test
	$(PYTHON) Tests/Oracle/oracle.py --kiln $(KILN_DEBUG) --backend interp
	$(PYTHON) Tests/Oracle/oracle.py --kiln $(KILN_DEBUG) --backend jit

# The main demo: the compiler's views of LeNet-5, then training it on Fashion-MNIST.
demo: release
	@mkdir -p out
	@echo "== LeNet-5, typed IR (kiln dump Graphs/lenet5.kiln)"
	$(KILN) dump Graphs/lenet5.kiln
	@echo "== its Adam training step after simplify, fuse and plan-memory (first lines)"
	$(KILN) dump Graphs/lenet5.kiln --train loss --optimizer adam:lr=0.002 --optimized --stats > out/lenet5.train.optimized.kiln
	@head -1 out/lenet5.train.optimized.kiln; grep -c fused_ out/lenet5.train.optimized.kiln | sed 's/^/fused kernels: /'
	$(KILN) dot Graphs/lenet5.kiln --optimized > out/lenet5.dot
	@echo "== training LeNet-5 (dropout 0.3 on the dense layers) on Fashion-MNIST with the JIT; report in out/lenet5/index.html"
	$(KILN) train Graphs/lenet5_dropout.kiln --backend jit --epochs 20 --optimizer nesterov:lr=0.05,momentum=0.9,weight_decay=0.0005 \
	  --schedule cosine:min=0.01 --checkpoint out/lenet5.safetensors --report out/lenet5
	@echo "== the same training step on the interpreter and the JIT, side by side"
	$(KILN) bench Graphs/lenet5_dropout.kiln --train loss --optimizer nesterov:lr=0.05,momentum=0.9,weight_decay=0.0005 --steps 10

# Kiln JIT, Kiln interpreter, JAX and NumPy on every workload, interleaved; rewrites Docs/BENCHMARKS.md.
BENCH_VENV := .build/bench-venv
bench: release
	@[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import jax, numpy" 2>/dev/null || $(BENCH_VENV)/bin/pip install -q jax numpy
	$(BENCH_VENV)/bin/python Benchmarks/driver.py

clean:
	rm -rf .build out
