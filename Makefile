# memvisor build. `make` builds build/memvisor and build/memvisor-ctl;
# `make test` runs every test (unit, sanitizer unit, end-to-end).

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
CFLAGS   := $(OPT) -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing \
            -D_GNU_SOURCE -Isrc -pthread -MMD -MP
LDLIBS   += -ljson-c -lnuma -lpthread
# Static, so the binary runs as is inside a busybox initramfs.
LDSTATIC ?= -static

LIB_SRC  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/memvisor $(BUILD)/memvisor-ctl

# `make V=1` shows the commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmemvisor.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# The same library without log.o, for the fuzz targets: fuzz/log_stub.c
# replaces log.c (silent logging; a hostile guest's warnings would drown
# libFuzzer). log.c by name, wherever it lives.
$(BUILD)/libmemvisor-nolog.a: $(filter-out %/log.o,$(LIB_OBJ))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/memvisor: $(BUILD)/src/main.o $(BUILD)/libmemvisor.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDSTATIC) -o $@ $^ $(LDLIBS)

$(BUILD)/memvisor-ctl: $(BUILD)/tools/memvisor-ctl.o $(BUILD)/libmemvisor.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDSTATIC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/fakes.o $(BUILD)/libmemvisor.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

unit-build: $(UNIT_BIN)

# Unit tests; the runner prints one summary line over every binary.
unit: $(UNIT_BIN)
	@tests/unit/run.sh $(UNIT_BIN)

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan LDSTATIC= \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  unit

# The same unit tests under ThreadSanitizer (dynamic: TSan cannot link statically).
# halt_on_error: the first race fails the binary, so the runner counts it.
# -Wno-tsan: TSan does not model fences; virtq's fences order accesses against
# the guest's vCPUs, which TSan cannot see anyway.
unit-tsan:
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $${TSAN_OPTIONS:-}" \
	  $(MAKE) --no-print-directory BUILD=build/tsan LDSTATIC= \
	  OPT="-O1 -g -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan" \
	  unit

# The VMM itself under ASan+UBSan (dynamic: the nested rig copies its libraries).
vmm-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan-vmm LDSTATIC= \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  all

e2e: all
	@tests/e2e/run.sh

test: all
	@tests/run-all.sh

fuzz:
	@fuzz/run.sh

bench: all
	@bench/run.sh

# compile_commands.json for clang-tidy and editors: every C file of the
# build, the tests, the benchmarks and the fuzz targets, with the build's
# flags (no dependency files). Regenerated when the Makefile or a file set
# changes; `make -B compile_commands.json` forces it.
CDB_SRC := $(LIB_SRC) src/main.c $(wildcard tools/*.c) $(sort $(wildcard tests/unit/*.c)) \
           $(sort $(wildcard bench/*.c)) $(sort $(wildcard fuzz/*.c))
CDB_FLAGS := $(filter-out -MMD -MP,$(CFLAGS)) -Itests/unit
compile_commands.json: Makefile $(CDB_SRC)
	@$(if $(V),,echo "  GEN     $@")
	$(Q){ sep=' '; echo '['; for f in $(CDB_SRC); do \
	  printf '%s{"directory": "%s", "file": "%s", "command": "%s %s -c %s"}\n' \
	    "$$sep" "$(CURDIR)" "$$f" "$(CC)" "$(CDB_FLAGS)" "$$f"; sep=','; \
	done; echo ']'; } >$@.tmp && mv $@.tmp $@

# clang-tidy over src/ with the checked-in .clang-tidy (bug-finding checks);
# prints each finding once and fails on any. TIDY_FILES=... narrows it.
TIDY_FILES ?= $(LIB_SRC) src/main.c
TIDY_JOBS  ?= 2
tidy: compile_commands.json
	@mkdir -p $(BUILD)
	@run-clang-tidy -quiet -j $(TIDY_JOBS) -p . \
	  $(addprefix ^$(CURDIR)/,$(addsuffix $$,$(TIDY_FILES))) 2>&1 | \
	  sed -e 's/\x1b\[[0-9;]*m//g' -e 's|$(CURDIR)/||' >$(BUILD)/tidy.log; \
	  grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' $(BUILD)/tidy.log | sort -u >$(BUILD)/tidy.txt; \
	  cat $(BUILD)/tidy.txt; n=$$(wc -l <$(BUILD)/tidy.txt); \
	  echo "tidy: $$n findings (details: $(BUILD)/tidy.log)"; [ $$n -eq 0 ]

# The floors of src/ (ARCHITECTURE.md): no include upward, no json-c in core,
# no call loop between files (from the objects' symbols).
check-layers: $(LIB_OBJ) $(BUILD)/src/main.o
	@scripts/check-layers.py $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

.PHONY: check-layers all unit unit-build unit-asan unit-tsan vmm-asan e2e test fuzz bench tidy format format-check clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
