# A thin layer over CMake. `make run` and `make test` do all set-up themselves.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build run test unit asan fuzz format format-check bench tools chart-lint chart-docs image image-test install clean

all: build

build:
	./scripts/bootstrap.sh test
	@if command -v npm >/dev/null 2>&1; then ./scripts/tools.sh; else echo "make: npm not found: the chart, Terraform and workflow checks will say SKIPPED"; fi
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

run:
	./scripts/bootstrap.sh run
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DAPPLIANCE_BUILD_TESTS=OFF -DAPPLIANCE_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS) --target appliance all
	./scripts/run-local.sh

test: build tools
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L unit

asan:
	./scripts/bootstrap.sh test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAPPLIANCE_SANITIZE=ON -DAPPLIANCE_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -L unit

# Every fuzz target (tests/fuzz) for FUZZ_SECONDS each; FUZZ_TARGETS="jwt timestamps" narrows it.
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) JOBS=$(JOBS) ./scripts/fuzz.sh $(FUZZ_TARGETS)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror

bench: build
	./scripts/bootstrap.sh bench
	./bench/run.sh

# Pinned npm tools (helm, kubernetes-models) in .tools/: tools/package.json, scripts/tools.sh.
tools:
	./scripts/tools.sh

# The Helm chart's checks alone (charts/appliance/README.md, "Checks"); make test runs them too.
chart-lint: build tools
	ctest --test-dir $(BUILD) --output-on-failure -R '^chart_'

# Rewrites the values table of charts/appliance/README.md from values.schema.json.
chart-docs: tools
	node tests/chart/readme_values.js .tools/npm/node_modules charts/appliance --write

# The container image (Dockerfile): Docker if a daemon answers, else buildah with local
# mmdebstrap bases; IMAGE_TARGET=runtime-slim builds the bookworm-slim variant. Not in make test.
IMAGE_TARGET ?= runtime
image:
	./scripts/bootstrap.sh image
	JOBS=$(JOBS) ./scripts/image.sh build $(IMAGE_TARGET)

# Runs the built image's binary (--version, --list-plugins, --check-config) and reports its size.
image-test:
	./scripts/bootstrap.sh image
	./scripts/image.sh test $(IMAGE_TARGET)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
