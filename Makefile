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

fuzz: build
	./build/default/cowpoke stress --time 60 --seed 1

clean:
	rm -rf build
