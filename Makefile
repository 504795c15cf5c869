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

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

.PHONY: all unit unit-build unit-asan vmm-asan e2e test fuzz bench format format-check clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
