# Thin wrapper around CMake (CMakeLists.txt is the build; CMakePresets.json
# names the configurations). `make test` and `make fuzz` do all set-up first.
.PHONY: all deps build test test-asan test-default fuzz clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake --preset default >/dev/null
	cmake --build --preset default

# The whole suite under ASan+UBSan, then again in the plain build; the last
# line printed is ctest's summary of the plain run.
test: deps test-asan test-default

test-asan:
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan

test-default:
	cmake --preset default >/dev/null
	cmake --build --preset default
	ctest --preset default

# All set-up (deps, build), then a 60-second built-in campaign on the correct
# engine (`cowpoke fuzz`: traces decoded from mutated bytes, findings written
# and shrunk under build/fuzz-out/), ending with its summary. Exit 1 when it
# found something (each finding's repro.io replays with `cowpoke replay`).
fuzz: build
	rm -rf build/fuzz-out
	./build/default/cowpoke fuzz --time 60 --seed 1 -o build/fuzz-out --corpus corpus

clean:
	rm -rf build
