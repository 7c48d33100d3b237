# The two commands of the README. Everything else is CMake under build/.
#   make demo   installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test (plus an ASan+UBSan build)
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
WERROR     ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all deps build build-asan demo test test-fast bench clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTUNNELSIM_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTUNNELSIM_SANITIZE=ON -DTUNNELSIM_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build build-asan
	@echo "== tests (release build)"
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer build)"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) -LE 'interop|bench'

test-fast: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	@$(BUILD)/tunnelsim bench des
	@$(BUILD)/tunnelsim bench engine
	@$(BUILD)/tunnelsim bench netstack
	@$(BUILD)/tunnelsim bench scenario

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
