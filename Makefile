# sagad build. `make` builds build/sagad and build/sagactl; `make asan` the same
# under ASan/UBSan in build-asan/; `make test` installs what is missing, builds
# both and runs the whole suite against each.

# Every core (CI runs a bare `make test`); JOBS=1 for one at a time. Only the
# top make sets it: the sub-makes share its job slots.
JOBS ?= $(shell nproc)
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(JOBS)
endif

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
SANITIZE ?= 0
V        ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

PKGS      := libuv libcjson hiredis sqlite3 nettle libcurl libgvc libpq
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
        -Wold-style-definition -Wmissing-declarations -Wpointer-arith \
        -Wformat=2 -Wno-format-nonliteral -Wvla
OPT  := -O2 -g
ifeq ($(SANITIZE),1)
OPT  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
endif
# The library as the runtime fuzz target links it (clang, `make fuzz`).
ifeq ($(SANITIZE),fuzz)
OPT  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
        -fno-sanitize-recover=all
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS   := -Iinclude -I$(LLHTTP_INC) -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS     := -std=c11 $(OPT) $(WARN) -MMD -MP
LDFLAGS    := $(filter -fsanitize=%,$(OPT))
LDLIBS     := $(PKG_LIBS) -lm
# Graphviz's layout and SVG plugins linked in (graph/svg.c lists them), not
# loaded from its config: no pango/fontconfig (text sizes are estimated), so
# a drawing does not depend on the fonts installed.
GV_PLUGIN_DIR := $(shell pkg-config --variable=libdir libgvc 2>/dev/null)/graphviz
GV_LIBS    := -L$(GV_PLUGIN_DIR) -Wl,-rpath,$(GV_PLUGIN_DIR) -lgvplugin_dot_layout -lgvplugin_core
LDLIBS     += $(GV_LIBS)
# mimalloc replaces malloc for the whole process (cJSON and SQLite allocate a
# lot per step; glibc's malloc was ~30% of the daemon's CPU, bench/analysis.md).
# Not under the sanitizers, which bring their own allocator.
ifeq ($(SANITIZE),0)
LDLIBS     += -Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state
endif

# Entry points live in src/daemon/main.c and src/cli/; everything else is the library.
ALL_SRC  := $(shell find src -name '*.c' | sort)
CLI_SRC  := $(filter src/cli/%,$(ALL_SRC))
MAIN_SRC := src/daemon/main.c
LIB_SRC  := $(filter-out $(CLI_SRC) $(MAIN_SRC),$(ALL_SRC))
LLHTTP_SRC := $(LLHTTP_DIR)/llhttp.c $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ   := $(MAIN_SRC:%.c=$(BUILD)/obj/%.o)
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/obj/llhttp/%.o,$(LLHTTP_SRC))
LIB        := $(BUILD)/libsagad.a
# The web console's files (ui/) are assembled into the library by .incbin;
# the assembler does not list what it includes, hence the explicit dependency.
ASM_SRC    := $(shell find src -name '*.S' | sort)
LIB_OBJ    += $(ASM_SRC:%.S=$(BUILD)/obj/%.o)

TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan tests test deps browser-deps aws-deps run install uninstall clean fuzz fuzz-smoke bench torture
all: $(BUILD)/sagad $(BUILD)/sagactl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) -c $< -o $@
$(BUILD)/obj/src/ui/assets.o: $(wildcard ui/*)

# llhttp is generated C from Debian's node-llhttp; it is not ours to warn about.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -I$(LLHTTP_INC) -std=c11 $(OPT) -w -c $< -o $@

$(LIB): $(LIB_OBJ) $(LLHTTP_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/sagad: $(MAIN_OBJ) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sagactl: $(CLI_OBJ) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

tests: all $(TEST_BIN)

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 tests

deps:
	@scripts/deps.sh build

test:
	@scripts/deps.sh test
	$(MAKE) browser-deps
	$(MAKE) aws-deps
	$(MAKE) tests
	$(MAKE) asan
	$(MAKE) fuzz
	python3 tests/run.py --pg build --fuzz $(FUZZ_BUILD) build build-asan

# puppeteer-core for the browser tests (test-only, drives Debian's chromium;
# downloads no browser). Reinstalled only when the lock file changes.
BROWSER_MODULES := tests/browser/node_modules/.package-lock.json
browser-deps: $(BROWSER_MODULES)
$(BROWSER_MODULES): tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@

# @aws-sdk/client-sfn for the Step Functions API tests (test-only; the AWS CLI
# comes from Debian's awscli). Reinstalled only when the lock file changes.
AWS_MODULES := tests/aws/node_modules/.package-lock.json
aws-deps: $(AWS_MODULES)
$(AWS_MODULES): tests/aws/package-lock.json
	npm ci --prefix tests/aws --no-audit --no-fund
	@touch $@

run:
	@scripts/deps.sh run
	$(MAKE) all
	@scripts/run.sh

# Installed layout (docs/operations.md). The unit goes where systemd looks for
# local units of this prefix (/usr/local/lib/systemd/system is on its path);
# the config goes to /etc whatever the prefix, as systemd and Debian expect.
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SUBST      := sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
              -e 's|@DATADIR@|$(DATADIR)|g'
# The release's sagas, named: a file a developer leaves in sagas/ is not
# installed (tests/integration/test_ops.py checks this list against git).
SAGA_FILES := order.asl.json

# An existing config is the administrator's: never overwritten, and removed
# by uninstall only while it is still the shipped default. The operator's
# sagas go to $(SYSCONFDIR)/sagad/sagas, created empty; the shipped ones stay
# in $(DATADIR)/sagad/sagas (vendor_sagas_dir).
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sagad/sagas $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/sagad/sagas $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(BUILD)/sagad $(BUILD)/sagactl $(DESTDIR)$(BINDIR)/
	install -m 644 $(addprefix sagas/,$(SAGA_FILES)) $(DESTDIR)$(DATADIR)/sagad/sagas/
	$(SUBST) conf/sagad.service > $(BUILD)/sagad.service
	install -m 644 $(BUILD)/sagad.service $(DESTDIR)$(UNITDIR)/sagad.service
	$(SUBST) conf/sagad.prod.conf > $(BUILD)/sagad.prod.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf ]; then \
	  echo "install: keeping the existing $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf"; \
	else \
	  install -m 644 $(BUILD)/sagad.prod.conf $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf; \
	fi
	install -m 644 man/sagactl.1 $(DESTDIR)$(MANDIR)/man1/sagactl.1
	install -m 644 man/sagad.8 $(DESTDIR)$(MANDIR)/man8/sagad.8

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sagad $(DESTDIR)$(BINDIR)/sagactl
	rm -f $(DESTDIR)$(UNITDIR)/sagad.service
	rm -f $(DESTDIR)$(MANDIR)/man1/sagactl.1 $(DESTDIR)$(MANDIR)/man8/sagad.8
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/sagad/sagas/,$(SAGA_FILES))
	rmdir $(DESTDIR)$(DATADIR)/sagad/sagas $(DESTDIR)$(DATADIR)/sagad 2>/dev/null || true
	@rmdir $(DESTDIR)$(SYSCONFDIR)/sagad/sagas 2>/dev/null || \
	  if [ -d $(DESTDIR)$(SYSCONFDIR)/sagad/sagas ]; then \
	    echo "uninstall: keeping $(DESTDIR)$(SYSCONFDIR)/sagad/sagas, which holds your sagas"; fi
	@if $(SUBST) conf/sagad.prod.conf | cmp -s - $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf; then \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf; \
	  rmdir $(DESTDIR)$(SYSCONFDIR)/sagad 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf ]; then \
	  echo "uninstall: keeping the edited $(DESTDIR)$(SYSCONFDIR)/sagad/sagad.conf"; \
	fi

clean:
	rm -rf build build-asan build-fuzz

# `make bench`: the benchmarks of docs/BENCHMARKS.md (bench/run.sh, about 3 minutes).
BENCH_BIN := $(BUILD)/bench/loadgen $(BUILD)/bench/engine $(BUILD)/bench/floor

$(BUILD)/bench/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=c11 -O2 $(WARN) -D_GNU_SOURCE -o $@ $<

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench:
	@scripts/deps.sh bench
	$(MAKE) all $(BENCH_BIN)
	@bench/run.sh $(BUILD)

# `make torture`: cycles of kill -9 on the real daemon under load, invariants
# read from the SQLite file (tests/torture/, minutes; not part of `make test`).
# TORTURE_CYCLES=50 by default; then stop_fanout.py (stops of a wide nested
# Map). Under the sanitizers: `make asan`, then run both with `build-asan`.
torture:
	@scripts/deps.sh test
	$(MAKE) all
	python3 tests/torture/torture.py $(BUILD); t=$$?; \
	python3 tests/torture/stop_fanout.py $(BUILD) && exit $$t

-include $(shell find $(BUILD) -name "*.d" 2>/dev/null)

# libFuzzer targets (clang; tests/fuzz/README.md): fuzz_asl for the ASL
# parser/validator/engine, fuzz_runtime for the durable runtime, which links
# the whole library built with coverage and the sanitizers in build-fuzz/lib.
# `make fuzz-smoke` runs the saved crash inputs (tests/fuzz/crashes/, each a
# defect: they must pass once it is fixed), then each target for FUZZ_SECONDS
# (20) on a scratch copy of its corpus.
FUZZ_BUILD   := build-fuzz
FUZZ_SRC     := $(filter src/asl/%,$(LIB_SRC)) src/core/timefmt.c src/core/hash.c
FUZZ_LIB     := $(FUZZ_BUILD)/lib/libsagad.a
FUZZ_FLAGS   := -std=c11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 20
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD)/lib CC=clang SANITIZE=fuzz $(FUZZ_LIB)
	$(MAKE) $(FUZZ_BUILD)/fuzz_asl $(FUZZ_BUILD)/fuzz_runtime
$(FUZZ_BUILD)/fuzz_asl: tests/fuzz/fuzz_asl.c $(FUZZ_SRC) $(wildcard include/asl/*.h)
	@mkdir -p $(FUZZ_BUILD)
	clang $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_asl.c $(FUZZ_SRC) $(PKG_LIBS) -lm
$(FUZZ_BUILD)/fuzz_runtime: tests/fuzz/fuzz_runtime.c $(FUZZ_LIB)
	clang $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) $(GV_LIBS) -lm
fuzz-smoke: fuzz
	@rm -rf $(FUZZ_BUILD)/smoke && mkdir -p $(FUZZ_BUILD)/smoke/asl $(FUZZ_BUILD)/smoke/runtime
	$(FUZZ_BUILD)/fuzz_asl -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_BUILD)/smoke/ $(FUZZ_BUILD)/smoke/asl tests/fuzz/corpus
	$(if $(wildcard tests/fuzz/crashes/*),$(FUZZ_BUILD)/fuzz_runtime \
	    -artifact_prefix=$(FUZZ_BUILD)/smoke/ $(wildcard tests/fuzz/crashes/*))
	$(FUZZ_BUILD)/fuzz_runtime -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_BUILD)/smoke/ $(FUZZ_BUILD)/smoke/runtime tests/fuzz/corpus-runtime
