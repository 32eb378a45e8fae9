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

# Until the trace fuzzer lands, the campaign is `cowpoke stress`: seeded
# concurrent request mixes, every read checked, metadata checked per run.
fuzz: build
	@echo "make fuzz: a 60-second cowpoke stress campaign (seeded concurrent request"
	@echo "mixes against the engine, every read and the metadata checked); the"
	@echo "coverage-guided trace fuzzer replaces it when it lands."
	./build/default/cowpoke stress --time 60 --seed 1

clean:
	rm -rf build
