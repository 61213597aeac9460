# stpm: two commands for a fresh Debian machine (see README.md).
#   make demo    system packages, teacher weights, demo data, release build, then the console
#                training on the demo data (or inspecting the model it trained before)
#   make test    the whole test suite
#   make fuzz    each libFuzzer target for FUZZ_SECONDS (default 60) from its seed corpus, or to
#                FUZZ_RUNS executions (the issue's bar: make fuzz FUZZ_RUNS=1000000 FUZZ_SECONDS=600)
#   make asan    the test suite under AddressSanitizer; make tsan: under ThreadSanitizer
#                (make tsan-threads: only the suites that start threads)
SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libpng-dev libisal-dev libjpeg62-turbo-dev libtiff-dev libncursesw5-dev libsixel-dev ncurses-term tmux python3-venv

STPM_HOME ?= $(HOME)/.cache/stpm
DEMO_DATA := $(STPM_HOME)/demo/brick
DEMO_MODEL := $(STPM_HOME)/demo/model

.PHONY: demo setup packages weights textures pillow build test fuzz asan tsan tsan-threads gemm-shapes fma-peak

setup: packages weights textures build

# The demo trains at 128 px for 20 epochs (under 5 minutes on 2 cores). Run again, it reuses the
# data, and the console continues an unfinished training or opens the finished model in seconds.
demo: setup
	@[ -d "$(DEMO_DATA)" ] || .build/release/stpm demo-data --out "$(DEMO_DATA)"
	.build/release/stpm console "$(DEMO_DATA)" --model "$(DEMO_MODEL)" --train --size 128 --epochs 20

# Installs the system libraries stpm links against, only when one is missing.
packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

weights:
	@scripts/fetch-weights

textures:
	@scripts/fetch-textures

build:
	swift build -c release --product stpm

# stpm's AVX-512 sgemm against OpenBLAS on the backbones' convolution GEMMs (GFLOP/s), on 1 and 2
# threads; GEMM_SHAPES_ARGS=-v adds one line per shape. A benchmark, not a test: run it on a quiet machine.
gemm-shapes: packages
	mkdir -p .build
	clang -O2 -o .build/gemm_shapes scripts/gemm_shapes.c Sources/CKernels/gemm_avx512.c Sources/CKernels/gemm_nt_avx512.c \
		Sources/CKernels/batchnorm_avx512.c -ISources/CKernels/include -lopenblas -lpthread -lm
	.build/gemm_shapes 1 2 $(GEMM_SHAPES_ARGS)

# The processor's AVX-512 FMA peak on 1 and 2 threads: the machine's ceiling for stpm bench's sgemm rate.
fma-peak:
	mkdir -p .build
	clang -O2 -o .build/fma_peak scripts/fma_peak.c -lpthread
	.build/fma_peak 2

# The console's end-to-end checks and the XCTest suite both run whatever the other does; the run
# fails when either fails. The last line counts the XCTest cases.
# Pillow for the image-format parity tests, pinned, in a private venv (never a product dependency).
PILLOW_VENV := $(STPM_HOME)/venv-pillow
pillow:
	@[ -x "$(PILLOW_VENV)/bin/python" ] && "$(PILLOW_VENV)/bin/python" -c 'import PIL' 2>/dev/null || \
		{ python3 -m venv "$(PILLOW_VENV)" && "$(PILLOW_VENV)/bin/pip" install -q pillow==13.0.0; }

test: packages weights textures pillow
	swift build --build-tests
	( STPM=$(CURDIR)/.build/debug/stpm Tests/e2e/console.sh; c=$$?; STPM=$(CURDIR)/.build/debug/stpm Tests/e2e/kill.sh; k=$$?; exit $$((c | k)) ) 2>&1 | tee .build/e2e.log; e2e=$${PIPESTATUS[0]}; \
	STPM_PILLOW_PYTHON="$(PILLOW_VENV)/bin/python" swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; status=$${PIPESTATUS[0]}; \
	summary=$$(grep -E 'Executed [0-9]+ tests?, with ' .build/test.log | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) test.*/\1/'); \
	skipped=$$(echo "$$summary" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p'); \
	failed=$$(echo "$$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/'); \
	if [ $$e2e -eq 0 ]; then echo "end-to-end: all checks passed"; \
	else echo "end-to-end FAILED (exit $$e2e): $$(grep -c "^FAIL" .build/e2e.log) failed check(s), see .build/e2e.log"; fi; \
	if [ -z "$$summary" ]; then echo "XCTest did not finish (exit $$status), see .build/test.log"; exit 1; fi; \
	echo "$$((total - failed - $${skipped:-0})) passed, $$failed failed, $${skipped:-0} skipped"; \
	[ $$status -eq 0 ] && [ $$e2e -eq 0 ]

# libFuzzer needs its own build (every module instrumented). Each target stops after FUZZ_SECONDS or
# FUZZ_RUNS executions, whichever comes first (0: no limit of that kind); FUZZ_TARGETS picks targets.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 0
FUZZ_TARGETS ?=
fuzz: packages
	swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --scratch-path .build-fuzz --product stpm-fuzz
	FUZZ_RUNS=$(FUZZ_RUNS) Fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The whole suite (the CLI tests run the sanitized stpm built beside the tests) under each sanitizer;
# a sanitizer report fails the run (Tests/sanitizers/lsan.supp: leaks shown not to be ours).
# `make tsan` is slow on cores shared with other jobs: `make tsan-threads` runs the suites that start
# threads (training and its event stream, teacher and student scoring side by side and in lanes, evaluation and
# `stpm score` in lanes handing results on from either thread, the
# console's event queue, scoring worker and live view, watch).
TSAN_THREAD_SUITES := TrainingSessionTests|ResumeTests|EndToEndTests|EvaluationTests|ScoreFilesInOrderTests|InspectionTests|MapInferenceTests|ConsoleAgreementTests|ConsoleAppPartsTests|ScoringWorkerQuitTests|LiveWatchTests|WatchSessionTests
asan tsan tsan-threads: packages weights textures
	swift build --build-tests -Xswiftc -sanitize=$(if $(filter asan,$@),address,thread) --scratch-path .build-$(firstword $(subst -, ,$@))
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp \
		swift test --skip-build --disable-swift-testing --scratch-path .build-$(firstword $(subst -, ,$@)) \
		$(if $(filter tsan-threads,$@),--filter '$(TSAN_THREAD_SUITES)')
