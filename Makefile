# Kiln: two commands on a fresh Debian 12 machine with the Swift toolchain.
#   make demo   install what is missing, build in release, run the main demo
#   make test   install what is missing, build, run every test (Swift Testing + NumPy oracle +
#               the training report in headless Chromium)
SWIFT      ?= swift
# Open MPI for data-parallel training (KilnDistributed links libmpi, so it is needed to build);
# iproute2 for the two-host network-namespace test.
# graphviz: `dot` draws the compiled graph in training reports (optional at run time).
DEB_DEPS   := libopenblas-dev llvm-dev dataset-fashion-mnist zlib1g-dev gcc file graphviz libopenmpi-dev openmpi-bin iproute2
# Only the browser test needs a browser.
BROWSER_DEPS := chromium
PYTHON     ?= python3

# The LLVM the JIT is built against. Unset: Debian's llvm-dev (LLVM 14 on Debian 12), in .build.
# `LLVM_VERSION=19 make test` installs llvm-19-dev and builds and tests against it in
# .build/llvm19 (Package.swift reads LLVM_VERSION and adds /usr/lib/llvm-19/include).
ifneq ($(strip $(LLVM_VERSION)),)
ifeq ($(shell echo '$(LLVM_VERSION)' | grep -Ex '1[4-9]|[2-9][0-9]'),)
$(error LLVM_VERSION must be an LLVM major version such as 19, got '$(LLVM_VERSION)')
endif
export LLVM_VERSION
DEB_DEPS    += llvm-$(LLVM_VERSION)-dev
SWIFT_FLAGS := --scratch-path .build/llvm$(LLVM_VERSION)
BUILD_DIR   := .build/llvm$(LLVM_VERSION)
else
SWIFT_FLAGS :=
BUILD_DIR   := .build
endif
KILN_DEBUG := $(BUILD_DIR)/debug/kiln
KILN       := $(BUILD_DIR)/release/kiln

# models-check: re-run the `quick` rows of Docs/MODELS.md (a few minutes) and fail when an
# accuracy falls more than MODELS_CHECK_POINTS (1) points below the table.
MODELS_CHECK_POINTS ?= 1

.PHONY: models-check deps browser-deps pydeps build release test test-llvm bundle-example test-report demo bench clean fuzz-diff fuzz fuzz-build test-sanitize consumer test-distributed bench-distributed onnx-venv onnx-torch onnx-conformance onnx-models onnx-zoo

# Install the Debian packages Kiln links against or reads, only when dpkg says they are missing.
deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(DEB_DEPS)"

browser-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(BROWSER_DEPS)"

.PHONY: install-missing
install-missing:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# NumPy for the independent oracle, installed with pip when missing.
pydeps:
	@$(PYTHON) -c "import numpy" 2>/dev/null || $(PYTHON) -m pip install -q numpy

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

# Under make test every prerequisite is installed, so a missing one fails instead of skipping
# (KILN_TEST_REQUIRE_ALL); what is still skipped (network namespaces when not root) is written
# to KILN_SKIP_LOG and counted at the end: "skipped checks: 0" on a prepared machine.
SKIP_LOG := $(CURDIR)/.build/test-skips.log
# Each step's time goes to TIME_LOG (Tests/Support/timed.sh), printed at the end.
TIME_LOG := $(CURDIR)/.build/test-times.log
TIMED := sh Tests/Support/timed.sh
test: export KILN_TEST_REQUIRE_ALL := 1
test: export KILN_SKIP_LOG := $(SKIP_LOG)
test: export KILN_TIME_LOG := $(TIME_LOG)
test: deps browser-deps pydeps
	@mkdir -p .build && : > $(SKIP_LOG) && : > $(TIME_LOG)
	$(TIMED) $(SWIFT) build $(SWIFT_FLAGS)
	$(TIMED) env SWIFT=$(SWIFT) Tests/Support/swift-test.sh $(SWIFT_FLAGS)
	$(TIMED) $(PYTHON) Tests/Oracle/oracle.py --kiln $(KILN_DEBUG) --backend interp
	$(TIMED) $(PYTHON) Tests/Oracle/oracle.py --kiln $(KILN_DEBUG) --backend jit
	$(TIMED) $(MAKE) onnx-venv
	$(TIMED) $(ONNX_VENV)/bin/python Tests/ONNX/referee_test.py
	$(TIMED) $(ONNX_VENV)/bin/python Tests/ONNX/conformance.py --kiln $(KILN_DEBUG) --cases Tests/ONNX/conformance_subset.txt --check
	$(TIMED) $(ONNX_VENV)/bin/python Tests/ONNX/frozen_cases.py --kiln $(KILN_DEBUG) --no-torch
	$(TIMED) $(ONNX_VENV)/bin/python Tests/ONNX/recurrent_cases.py --kiln $(KILN_DEBUG) --no-torch
	$(TIMED) $(ONNX_VENV)/bin/python Tests/ONNX/export_check.py --kiln $(KILN_DEBUG)
	$(TIMED) env KILN=$(KILN_DEBUG) Tests/Browser/run.sh
	$(TIMED) $(MAKE) consumer
	$(TIMED) $(MAKE) bundle-example
	$(TIMED) $(MAKE) test-distributed
	$(if $(LLVM_VERSION),,$(TIMED) $(MAKE) test-llvm)
	@echo "make test, time per step:" && cat $(TIME_LOG)
	@sh Tests/Support/skips.sh $(SKIP_LOG)

# LeNet-5 as ahead-of-time bundles driven from C (Examples/Bundle, Docs/AOT.md): the inference
# bundle's test accuracy must equal kiln train's (static, shared, and cross-compiled for AArch64
# under qemu-aarch64); a training bundle runs 100 steps from C.
BUNDLE_DEPS := gcc-aarch64-linux-gnu qemu-user
bundle-example: deps
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(BUNDLE_DEPS)"
	$(SWIFT) build $(SWIFT_FLAGS)
	KILN=$(KILN_DEBUG) Examples/Bundle/run.sh

# The JIT against a second LLVM (TEST_LLVM, default 19: Debian 12's newest, with opaque
# pointers) in its own build folder: the JIT's suites and the NumPy oracle on the JIT backend
# (every op end to end). `make test` runs it after the default LLVM's full suite. Left to the
# default LLVM, to keep `make test` within its 30 minutes: the code generator's suites (loop
# IR, the same for every LLVM), the random-graph and random-kernel sweeps (DifferentialTests,
# GeneratedKernelTests: ~10 min on LLVM 19), and the suites that mostly run the interpreter
# (the zoo's models on both backends, compare, finite-difference gradients: 28 models and
# training steps in the debug interpreter). The suites kept render every construct of the loop
# IR through LLVM 19: masked, strided, reduction (lane swaps), math routines, GEMM tiles, bundles.
TEST_LLVM ?= 19
LLVM_SKIP := DifferentialTests|GeneratedKernelTests|BackendEquivalenceTests/models|CompareCommandTests|CompareJITTests|JITGradientCheckTests
test-llvm: pydeps
	@$(MAKE) --no-print-directory install-missing PACKAGES="llvm-$(TEST_LLVM)-dev"
	LLVM_VERSION=$(TEST_LLVM) $(SWIFT) build --scratch-path .build/llvm$(TEST_LLVM)
	LLVM_VERSION=$(TEST_LLVM) SWIFT=$(SWIFT) KILN_SWIFT_TEST_LOG=.build/swift-test-llvm$(TEST_LLVM).log \
	  Tests/Support/swift-test.sh --scratch-path .build/llvm$(TEST_LLVM) --filter 'KilnJITTests' --skip '$(LLVM_SKIP)'
	$(PYTHON) Tests/Oracle/oracle.py --kiln .build/llvm$(TEST_LLVM)/debug/kiln --backend jit

# The training report in a real browser: trains LeNet-5 briefly (--limit 2000 --epochs 2),
# opens the report in headless Chromium, fails on a missing image or a script error, and
# saves a screenshot in .build/browser-test/report.png (about 45 s).
test-report: deps browser-deps
	$(SWIFT) build $(SWIFT_FLAGS)
	KILN=$(KILN_DEBUG) Tests/Browser/run.sh

# Examples/FashionClassifier built against a tagged copy of this tree as a versioned
# dependency (as another package would use Kiln), then run for one short epoch.
# It uses the default LLVM: a versioned dependency cannot carry another LLVM's header path.
consumer: deps onnx-venv
	env -u LLVM_VERSION ONNX_VENV=$(abspath $(ONNX_VENV)) sh Tests/Consumer/run.sh

# Multi-process data parallelism over Open MPI (Tests/Distributed, about 2 minutes): 2 ranks
# against one process on the doubled batch (MLP, LeNet-5; SGD, Adam; both backends), two
# "hosts" in network namespaces over TCP (root only; a counted skip otherwise), a rank killed
# or hung mid-training, an error on one rank aborting the job (MPI_Abort), and ranks started
# with different data or options (a named error, never a corrupted heap or a hang). mpirun
# runs as root with --oversubscribe (common.sh).
test-distributed: deps pydeps
	$(SWIFT) build $(SWIFT_FLAGS)
	KILN=$(CURDIR)/$(KILN_DEBUG) Tests/Distributed/equivalence.sh
	KILN=$(CURDIR)/$(KILN_DEBUG) Tests/Distributed/netns.sh
	KILN=$(CURDIR)/$(KILN_DEBUG) Tests/Distributed/rank-death.sh
	KILN=$(CURDIR)/$(KILN_DEBUG) Tests/Distributed/disagreement.sh

# The main demo: the compiler's views of LeNet-5, then training it on Fashion-MNIST.
models-check: release
	$(PYTHON) Tests/Models/models_check.py --kiln $(KILN) --points $(MODELS_CHECK_POINTS)

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
	$(BENCH_VENV)/bin/python Benchmarks/gemm.py
	$(MAKE) onnx-torch
	$(ONNX_VENV)/bin/python Benchmarks/onnx_bench.py

# Data-parallel LeNet-5 on 1 and 2 ranks, all-reduce latency and bandwidth, and the scaling
# model; rewrites the measurements section of Docs/DISTRIBUTED.md. Run on a quiet machine.
bench-distributed: release pydeps
	$(PYTHON) Benchmarks/distributed.py

# libFuzzer over the .kiln parser, the .npy, .npz, safetensors and IDX readers and the ONNX
# importer (structural mutations: ONNXMutator) (Fuzz/), with
# AddressSanitizer; FUZZ_SECONDS per target. Seeds in Fuzz/Corpus/TARGET; what the fuzzer finds
# grows .build/fuzz/corpus/TARGET; a crashing input is saved as .build/fuzz/findings/TARGET-*.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := parser npy npz safetensors idx onnx
FUZZ_BIN     := .build/fuzz/release/kiln-fuzz

fuzz-build: deps
	KILN_FUZZ=1 $(SWIFT) build -c release --build-path .build/fuzz --product kiln-fuzz -Xswiftc -sanitize=fuzzer,address

fuzz: fuzz-build
	@mkdir -p .build/fuzz/findings
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build/fuzz/corpus/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  KILN_FUZZ_TARGET=$$t $(FUZZ_BIN) .build/fuzz/corpus/$$t Fuzz/Corpus/$$t -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -rss_limit_mb=2048 -artifact_prefix=.build/fuzz/findings/$$t- -print_final_stats=1 2>&1 \
	    | grep -E '^(stat::|==|SUMMARY|Done|INFO: seed)|DONE' || true; \
	  ls .build/fuzz/findings/$$t-* >/dev/null 2>&1 && { echo "fuzz: $$t found a failing input (.build/fuzz/findings)"; exit 1; }; \
	done; echo "fuzz: no findings"

clean:
	rm -rf .build out

# Differential testing: FUZZ_SEEDS random graphs over the whole op table, interpreter against JIT,
# unoptimised and optimised (`swift test` runs the first 150).
FUZZ_SEEDS ?= 3000
FUZZ_FIRST_SEED ?= 150
fuzz-diff: deps
	KILN_FUZZ_SEEDS=$(FUZZ_SEEDS) KILN_FUZZ_FIRST_SEED=$(FUZZ_FIRST_SEED) $(SWIFT) test --filter DifferentialTests

# The Swift tests under AddressSanitizer, then ThreadSanitizer (separate build folders; slow).
# Leak checking is off: LeakSanitizer's only findings are inside Foundation (FileManager.contents,
# Process.run) called by test helpers, not in Kiln (Docs/RELIABILITY.md).
test-sanitize: deps pydeps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --scratch-path .build-asan --sanitize=address
	$(SWIFT) test --scratch-path .build-tsan --sanitize=thread

# ONNX (Docs/ONNX.md): a venv with onnx and onnxruntime (and, for the PyTorch exports, torch
# and torchvision from PyPI) under .build.
ONNX_VENV := .build/onnx-venv
onnx-venv:
	@[ -x $(ONNX_VENV)/bin/python ] || $(PYTHON) -m venv $(ONNX_VENV)
	@$(ONNX_VENV)/bin/python -c "import onnx, onnxruntime, numpy" 2>/dev/null || $(ONNX_VENV)/bin/pip install -q onnx onnxruntime numpy

onnx-torch: onnx-venv
	@$(ONNX_VENV)/bin/python -c "import torch, torchvision" 2>/dev/null || $(ONNX_VENV)/bin/pip install -q torch torchvision

# ONNX's backend test cases (node, pytorch-converted, pytorch-operator, simple, light models)
# through kiln import + kiln run on both backends; rewrites the table in Docs/ONNX.md.
onnx-conformance: release onnx-venv
	$(ONNX_VENV)/bin/python Tests/ONNX/conformance.py --kiln $(KILN)

# PyTorch exports (MLP, LeNet-5, ResNet-18, MobileNetV2, transformer) against onnxruntime, and
# one epoch of fine-tuning the imported LeNet-5 on Fashion-MNIST.
onnx-models: release onnx-torch
	$(ONNX_VENV)/bin/python Tests/ONNX/models.py --kiln $(KILN)
	$(ONNX_VENV)/bin/python Tests/ONNX/frozen_cases.py --kiln $(KILN)
	$(ONNX_VENV)/bin/python Tests/ONNX/recurrent_cases.py --kiln $(KILN)
	$(ONNX_VENV)/bin/python Tests/ONNX/torch_cases.py --kiln $(KILN)
	$(ONNX_VENV)/bin/python Tests/ONNX/finetune.py --kiln $(KILN)

# torchvision's classification, segmentation and video models and recurrent/UNet exports
# (random weights) against onnxruntime on both backends, with times; rewrites the zoo table
# in Docs/ONNX.md (about 30 minutes on 2 cores).
onnx-zoo: release onnx-torch
	$(ONNX_VENV)/bin/python Tests/ONNX/zoo.py --kiln $(KILN)
