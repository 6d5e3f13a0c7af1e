# tessera — GNU make build.
#
#   make              libraries, raster-tool, examples
#   make examples     builds and runs the examples (hillshade.c against
#                     raster-tool hillshade, byte for byte)
#   make check        every test suite (Check), the exported-symbol check and
#                     an install into a scratch PREFIX, after installing
#                     what is missing
#   make demo         builds, then runs the demo
#   make bench        benchmarks against serial C and the installed peers
#                     (BENCH="sched raster" picks sections of bench/)
#   make python       the tessera Python package, in build/python (use it
#                     with PYTHONPATH=build/python); make check tests it
#   make fuzz         builds the libFuzzer harnesses of tests/fuzz/ with
#                     clang (ASan + UBSan, in build/fuzz) and runs each for
#                     FUZZ_SECONDS (60); FUZZ="tiff cli" picks harnesses
#   make install / uninstall   (PREFIX, DESTDIR)
#   make SANITIZE=thread check, make SANITIZE=address,undefined check
#   make DEBUG=1      runtime rule checks (fork/join order...); implied by SANITIZE
#   make MPI=1        the MPI build in build/mpi: libtessera_mpi and an
#                     MPI-enabled raster-tool (installed as raster-tool-mpi)
#   CC=clang works as well as gcc.

PREFIX ?= /usr/local
EXEC_PREFIX ?= $(PREFIX)
BINDIR ?= $(EXEC_PREFIX)/bin
LIBDIR ?= $(EXEC_PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

VERSION := 0.1.0
SOVERSION := 0

CC ?= cc
AR ?= ar
OPT ?= -O2
SANITIZE ?=

MPI ?=

comma := ,
ifeq ($(SANITIZE),)
DEBUG ?=
B := build$(if $(MPI),/mpi)$(if $(DEBUG),$(if $(MPI),-debug,/debug))
else
DEBUG ?= 1
B := build/$(if $(MPI),mpi-)san-$(subst $(comma),-,$(SANITIZE))
endif

CPPFLAGS += -Iinclude -D_GNU_SOURCE
ifneq ($(DEBUG),)
CPPFLAGS += -DTES_DEBUG
endif
CFLAGS ?= $(OPT) -gdwarf-4
CFLAGS += -std=c11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden -pthread
LDFLAGS += -pthread
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
# GCC's "undefined" leaves out float-to-integer conversions that overflow
# (NaN or out of range: undefined in C), which clang's includes.
ifneq ($(findstring undefined,$(SANITIZE)),)
CFLAGS += -fsanitize=float-cast-overflow
LDFLAGS += -fsanitize=float-cast-overflow
endif

PKG_CONFIG ?= pkg-config
RASTER_PKGS := libtiff-4 zlib libzstd libdeflate
RASTER_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(RASTER_PKGS) 2>/dev/null)
RASTER_LIBS = $(shell $(PKG_CONFIG) --libs $(RASTER_PKGS) 2>/dev/null || echo -ltiff -lzstd -ldeflate -lz) -lm
# raster-tool's PNG previews (quicklook)
PNG_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpng 2>/dev/null)
PNG_LIBS = $(shell $(PKG_CONFIG) --libs libpng 2>/dev/null || echo -lpng)
# MPI (make MPI=1): the first of these pkg-config names that exists.
MPI_PKG_NAMES := mpi-c ompi-c mpich
MPI_PKG = $(firstword $(foreach p,$(MPI_PKG_NAMES),$(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo $(p))))
ifneq ($(MPI),)
MPI_PKG := $(MPI_PKG)
ifeq ($(MPI_PKG),)
$(error MPI=1: pkg-config finds no MPI ($(MPI_PKG_NAMES)); install Open MPI with 'sh .ci/deps.sh mpi')
endif
MPI_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(MPI_PKG))
MPI_LIBS := $(shell $(PKG_CONFIG) --libs $(MPI_PKG))
endif
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# ---- sources ---------------------------------------------------------------
RT_SRC := $(sort $(wildcard runtime/*.c))
RT_OBJ := $(RT_SRC:%.c=$(B)/%.o)
RASTER_SRC := $(sort $(wildcard lib/*.c kernels/*.c))
RASTER_OBJ := $(RASTER_SRC:%.c=$(B)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
EX_SRC := $(sort $(wildcard examples/*.c))
EX_BIN := $(EX_SRC:examples/%.c=$(B)/examples/%)
# Runtime suites link libtessera only; the rest link the raster library too.
RT_TESTS := $(sort $(wildcard tests/test_rt_*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TEST_HELPERS := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
# The fuzz harnesses (tests/fuzz/fuzz_<name>.c): see "fuzzing" below. The
# cli harness runs many commands in one process, which an MPI build's
# raster-tool (one MPI_Init, one MPI_Finalize a process) cannot: it is
# left out of MPI builds, whose library harnesses are the plain ones.
FUZZ_NAMES := $(filter-out $(if $(MPI),cli),$(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(B)/tests/fuzz/replay_%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(B)/tests/fuzz/fuzz_%)
MPI_SRC := $(if $(MPI),$(sort $(wildcard mpi/*.c)))
MPI_OBJ := $(MPI_SRC:%.c=$(B)/%.o)
# Suites that see only include/ and link only the shared libraries, as a
# program outside the project does.
PUBLIC_TESTS := $(B)/tests/test_library
# Examples that use the raster engine (the others link libtessera only).
EX_RASTER := $(B)/examples/hillshade $(B)/examples/inmemory

RT_SO := $(B)/libtessera.so.$(VERSION)
RT_A := $(B)/libtessera.a
RASTER_SO := $(B)/libtessera_raster.so.$(VERSION)
RASTER_A := $(B)/libtessera_raster.a
TOOL := $(if $(CLI_SRC),$(B)/raster-tool)
MPI_SO := $(if $(MPI),$(B)/libtessera_mpi.so.$(VERSION))
MPI_A := $(if $(MPI),$(B)/libtessera_mpi.a)

LIBS_ALL := $(RT_SO) $(RT_A) $(if $(RASTER_SRC),$(RASTER_SO) $(RASTER_A)) $(MPI_SO) $(MPI_A)

.PHONY: all check demo bench examples install uninstall clean deps lint man-lint \
	python python-check fuzz
.DEFAULT_GOAL := all

PC_FILES := $(B)/tessera.pc $(if $(RASTER_SRC),$(B)/tessera_raster.pc) $(if $(MPI),$(B)/tessera_mpi.pc)

all: $(LIBS_ALL) $(TOOL) $(EX_BIN) $(PC_FILES)

# ---- dependencies from Debian's packages -----------------------------------
deps:
	@sh .ci/deps.sh $(if $(MPI),mpi)

# ---- compile ---------------------------------------------------------------
$(B)/runtime/%.o: runtime/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/lib/%.o $(B)/kernels/%.o $(B)/cli/%.o: CFLAGS += $(RASTER_CFLAGS)
$(B)/cli/%.o: CFLAGS += $(PNG_CFLAGS)
$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(B)/kernels/%.o: kernels/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(B)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
# The MPI build: mpi/ and the seam in cli/dist.c see MPI.
ifneq ($(MPI),)
$(B)/cli/%.o: CPPFLAGS += -DTES_WITH_MPI
$(B)/cli/%.o $(B)/mpi/%.o: CFLAGS += $(MPI_CFLAGS)
$(B)/mpi/%.o: mpi/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
endif

# ---- libraries -------------------------------------------------------------
$(RT_SO): $(RT_OBJ)
	$(CC) -shared -Wl,-soname,libtessera.so.$(SOVERSION) $(LDFLAGS) -o $@ $^
	ln -sf libtessera.so.$(VERSION) $(B)/libtessera.so.$(SOVERSION)
	ln -sf libtessera.so.$(SOVERSION) $(B)/libtessera.so
$(RT_A): $(RT_OBJ)
	rm -f $@; $(AR) rcs $@ $^

$(RASTER_SO): $(RASTER_OBJ) $(RT_SO)
	$(CC) -shared -Wl,-soname,libtessera_raster.so.$(SOVERSION) $(LDFLAGS) -o $@ $(RASTER_OBJ) -L$(B) -ltessera $(RASTER_LIBS)
	ln -sf libtessera_raster.so.$(VERSION) $(B)/libtessera_raster.so.$(SOVERSION)
	ln -sf libtessera_raster.so.$(SOVERSION) $(B)/libtessera_raster.so
$(RASTER_A): $(RASTER_OBJ)
	rm -f $@; $(AR) rcs $@ $^

ifneq ($(MPI),)
$(MPI_SO): $(MPI_OBJ) $(RASTER_SO) $(RT_SO)
	$(CC) -shared -Wl,-soname,libtessera_mpi.so.$(SOVERSION) $(LDFLAGS) -o $@ $(MPI_OBJ) -L$(B) -ltessera_raster -ltessera $(MPI_LIBS)
	ln -sf libtessera_mpi.so.$(VERSION) $(B)/libtessera_mpi.so.$(SOVERSION)
	ln -sf libtessera_mpi.so.$(SOVERSION) $(B)/libtessera_mpi.so
$(MPI_A): $(MPI_OBJ)
	rm -f $@; $(AR) rcs $@ $^
endif

# The .pc files name the directories of the install they describe: they are
# rewritten whenever PREFIX, LIBDIR or INCLUDEDIR differ from the last
# build's (pc.vars records them), so `make install PREFIX=...` installs
# files for that PREFIX.
PC_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION) $(RASTER_PKGS) $(if $(MPI),$(MPI_PKG))
.PHONY: FORCE
$(B)/pc.vars: FORCE
	@mkdir -p $(@D)
	@echo '$(PC_VARS)' | cmp -s - $@ 2>/dev/null || echo '$(PC_VARS)' > $@
$(B)/tessera.pc: $(B)/pc.vars
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: tessera' 'Description: work-stealing task runtime' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -ltessera' 'Libs.private: -pthread' \
	  'Cflags: -I$${includedir}' > $@
$(B)/tessera_raster.pc: $(B)/pc.vars
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: tessera_raster' 'Description: tiled GeoTIFF raster engine and kernels on the tessera runtime' \
	  'Version: $(VERSION)' 'Requires: tessera' 'Requires.private: $(RASTER_PKGS)' \
	  'Libs: -L$${libdir} -ltessera_raster' 'Libs.private: -lm' \
	  'Cflags: -I$${includedir}' > $@
$(B)/tessera_mpi.pc: $(B)/pc.vars
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: tessera_mpi' 'Description: the tessera tile pipeline across MPI ranks' \
	  'Version: $(VERSION)' 'Requires: tessera_raster $(MPI_PKG)' \
	  'Libs: -L$${libdir} -ltessera_mpi' 'Cflags: -I$${includedir}' > $@

# ---- programs: clients of the shared libraries, like any other ------------
# They find the libraries beside them in the build folder, and in ../lib
# once installed (the usual PREFIX/bin, PREFIX/lib layout).
RPATH_TOOL := -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib'
RPATH_SUB := -Wl,-rpath,'$$ORIGIN/..'
$(B)/raster-tool: $(CLI_OBJ) $(MPI_SO) $(RASTER_SO) $(RT_SO)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) -L$(B) $(if $(MPI),-ltessera_mpi) -ltessera_raster -ltessera $(RPATH_TOOL) $(PNG_LIBS) -lm $(MPI_LIBS)

examples: $(EX_BIN) $(TOOL)
	@TES_BUILD=$(B) sh examples/run.sh
EX_LIBS = -ltessera
$(EX_RASTER): EX_LIBS = -ltessera_raster -ltessera
$(B)/examples/%: examples/%.c $(RT_SO) $(if $(RASTER_SRC),$(RASTER_SO))
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< -L$(B) $(EX_LIBS) $(RPATH_SUB) $(LDFLAGS) -lm

# ---- tests -----------------------------------------------------------------
$(B)/tests/test_rt_%: tests/test_rt_%.c $(TEST_HELPERS) $(RT_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(TEST_HELPERS) $(RT_A) $(LDFLAGS) $(CHECK_LIBS) -lm
$(PUBLIC_TESTS): $(B)/tests/%: tests/%.c $(RASTER_SO) $(RT_SO)
	@mkdir -p $(@D)
	$(CC) -Iinclude -D_GNU_SOURCE $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< -L$(B) -ltessera_raster -ltessera $(RPATH_SUB) $(LDFLAGS) $(CHECK_LIBS) -lm
# The fork and task suites again with TES_NO_INLINE: they include
# test_rt_fork.c and test_rt_task.c.
$(B)/tests/test_rt_fork_calls: tests/test_rt_fork.c
$(B)/tests/test_rt_task_calls: tests/test_rt_task.c
# the quicklook suite decodes PNGs with libpng
$(B)/tests/test_cli_quicklook: TEST_CFLAGS = $(PNG_CFLAGS)
$(B)/tests/test_cli_quicklook: TEST_LIBS = $(PNG_LIBS)
$(B)/tests/test_%: tests/test_%.c $(TEST_HELPERS) $(wildcard tests/*.h) $(RASTER_A) $(RT_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(RASTER_CFLAGS) $(TEST_CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(TEST_HELPERS) $(RASTER_A) $(RT_A) $(LDFLAGS) $(RASTER_LIBS) $(TEST_LIBS) $(CHECK_LIBS) -lm

# With Open MPI installed, `make check` also builds the MPI variant
# (build/mpi), whose suite runs it under mpirun against the plain build.
MPI_CHECK = $(if $(SANITIZE),,$(if $(MPI_PKG),$(shell command -v mpirun >/dev/null 2>&1 && echo $(if $(MPI),$(B),build/mpi))))
check: deps
	@$(MAKE) --no-print-directory all-tests
	@$(if $(and $(MPI_CHECK),$(if $(MPI),,y)),$(MAKE) --no-print-directory MPI=1 build/mpi/raster-tool)
	@TES_BUILD=$(B) TES_MPI_BUILD=$(MPI_CHECK) sh tests/run.sh $(TEST_BIN)
	@TES_BUILD=$(B) sh tests/fuzz/replay.sh $(FUZZ_NAMES)
	@$(MAKE) --no-print-directory check-library
	@$(MAKE) --no-print-directory python-check

# What a program outside the project sees: only tes_ names exported, and
# an install into a scratch PREFIX that pkg-config builds against and that
# uninstall empties.
.PHONY: check-library
check-library: all
	@TES_BUILD=$(B) TES_MPI_BUILD=$(MPI_CHECK) MPI="$(MPI)" CC="$(CC)" SANITIZE="$(SANITIZE)" MAKE="$(MAKE)" sh tests/library.sh

.PHONY: all-tests
all-tests: all $(TEST_BIN) $(FUZZ_REPLAY)

# ---- fuzzing ---------------------------------------------------------------
# Each tests/fuzz/fuzz_<name>.c is a libFuzzer harness. make check links
# each with tests/fuzz/replay.c's main() (any compiler, any SANITIZE) and
# replays its seeds and regression inputs; make fuzz builds them with
# clang's libFuzzer, ASan and UBSan in build/fuzz and fuzzes each for
# FUZZ_SECONDS. The cli harness links cli/'s objects with main.c's main
# renamed, and wraps two seams to keep runs small (see fuzz_cli.c).
FUZZ_CLI_OBJ := $(filter-out $(B)/cli/main.o,$(CLI_OBJ)) $(B)/tests/fuzz/cli_main.o
FUZZ_LINK = $(RASTER_A) $(RT_A) $(LDFLAGS) $(RASTER_LIBS) -lm
$(B)/tests/fuzz/replay_cli $(B)/tests/fuzz/fuzz_cli: $(FUZZ_CLI_OBJ)
$(B)/tests/fuzz/replay_cli $(B)/tests/fuzz/fuzz_cli: FUZZ_EXTRA = \
  $(FUZZ_CLI_OBJ) -Wl,--wrap=cli_raster_run -Wl,--wrap=tes_pool_create \
  $(PNG_LIBS)
$(B)/tests/fuzz/cli_main.o: cli/main.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(RASTER_CFLAGS) $(PNG_CFLAGS) -Dmain=cli_fuzz_main -c $< -o $@
$(B)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(RASTER_A) $(RT_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Icli $(CFLAGS) $(RASTER_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_EXTRA) $(FUZZ_LINK)
$(B)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(RASTER_A) $(RT_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Icli $(CFLAGS) $(RASTER_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_EXTRA) $(FUZZ_LINK) -fsanitize=fuzzer

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ ?= $(FUZZ_NAMES)
.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)
# Skips, saying so, where clang or its libFuzzer runtime is missing.
fuzz:
	@if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }\n' | \
	  $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1; then \
	  echo "make fuzz: $(FUZZ_CC) with libFuzzer is missing (sh .ci/deps.sh fuzz installs clang and libclang-rt-dev); skipped"; \
	  exit 0; fi; \
	$(MAKE) --no-print-directory B=build/fuzz CC=$(FUZZ_CC) SANITIZE=fuzzer-no-link,address,undefined fuzz-build && \
	TES_BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ)

# ---- the Python package (python/) ------------------------------------------
# A CPython extension over the public headers and the shared libraries, and
# the Python layer around it. The interpreter: PYTHON, else Debian's
# /usr/bin/python3 (where python3-numpy and python3-dev install), else the
# first python3 on PATH that imports numpy; looked up once, when needed.
PY_FIND = for p in /usr/bin/python3 python3; do "$$p" -c 'import numpy' \
	>/dev/null 2>&1 && { command -v "$$p"; break; }; done
PYTHON ?= $(eval PYTHON := $$(shell $$(PY_FIND)))$(PYTHON)
PY_INCLUDE = $(eval PY_INCLUDE := $$(if $$(PYTHON),$$(shell $$(PYTHON) -c \
	'import sysconfig; print(sysconfig.get_paths()["include"])')))$(PY_INCLUDE)
PY_SRC := $(sort $(wildcard python/src/*.c))
PY_OBJ := $(PY_SRC:python/src/%.c=$(B)/pyobj/%.o)
PY_PKG := $(B)/python/tessera
PY_FILES := $(addprefix $(PY_PKG)/,$(notdir $(wildcard python/tessera/*.py \
	python/tessera/*.pyi python/tessera/py.typed)))
# ".so" is an extension suffix every CPython on Linux imports.
PY_EXT := $(PY_PKG)/_tessera.so

python: $(PY_EXT) $(PY_FILES)

$(B)/pyobj/%.o: python/src/%.c
	@mkdir -p $(@D)
	@test -n "$(PYTHON)" || { echo "make python: no python3 that imports" \
	  "numpy (apt-get install python3-numpy python3-dev)" >&2; exit 1; }
	$(CC) $(CPPFLAGS) -I$(PY_INCLUDE) $(CFLAGS) -MMD -MP -c $< -o $@
$(PY_EXT): $(PY_OBJ) $(RASTER_SO) $(RT_SO)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $(PY_OBJ) -L$(B) -ltessera_raster -ltessera \
	  -Wl,-rpath,'$$ORIGIN/../..'
$(PY_PKG)/%: python/tessera/%
	@mkdir -p $(@D)
	cp $< $@

# The package's tests (pytest). Under SANITIZE the interpreter, which is
# not instrumented, loads the sanitizers' runtimes first (LD_PRELOAD), so
# that the extension and the libraries are checked too; the tests that
# measure memory or build with pip then skip.
comma_split = $(subst $(comma), ,$(SANITIZE))
PY_SAN_LIBS = $(foreach s,$(comma_split),$(shell $(CC) \
	-print-file-name=lib$(patsubst address,asan,$(patsubst undefined,ubsan,$(patsubst thread,tsan,$(s)))).so))
PY_SAN_ENV = $(if $(SANITIZE),LD_PRELOAD="$(strip $(PY_SAN_LIBS))" \
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/python/tests/tsan.supp" \
	TESSERA_TEST_SANITIZED=$(SANITIZE))
python-check:
	@$(MAKE) --no-print-directory all python
	@TES_BUILD=$(B) PYTHONPATH=$(B)/python PYTHONDONTWRITEBYTECODE=1 \
	  $(PY_SAN_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider python/tests

# ---- demo and benchmarks ---------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@TES_BUILD=$(B) sh examples/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@TES_BUILD=$(B) sh bench/run.sh $(BENCH)

# ---- install ---------------------------------------------------------------
# The MPI build installs its raster-tool as raster-tool-mpi, beside the
# plain one, and adds libtessera_mpi, its header, .pc and man page.
HEADERS := $(filter-out $(if $(MPI),,include/tessera_mpi.h),$(wildcard include/*.h))
MAN3 := $(filter-out $(if $(MPI),,man/tessera_mpi.3),$(wildcard man/*.3))
TOOL_NAME := raster-tool$(if $(MPI),-mpi)
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BINDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(RT_SO) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(RT_A) $(DESTDIR)$(LIBDIR)/
	ln -sf libtessera.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtessera.so.$(SOVERSION)
	ln -sf libtessera.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libtessera.so
	install -m 644 $(B)/tessera.pc $(DESTDIR)$(PKGCONFIGDIR)/
	if [ -f $(RASTER_SO) ]; then \
	  install -m 755 $(RASTER_SO) $(DESTDIR)$(LIBDIR)/ && \
	  install -m 644 $(RASTER_A) $(DESTDIR)$(LIBDIR)/ && \
	  ln -sf libtessera_raster.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtessera_raster.so.$(SOVERSION) && \
	  ln -sf libtessera_raster.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libtessera_raster.so && \
	  install -m 644 $(B)/tessera_raster.pc $(DESTDIR)$(PKGCONFIGDIR)/; fi
	if [ -f $(B)/raster-tool ]; then install -m 755 $(B)/raster-tool $(DESTDIR)$(BINDIR)/$(TOOL_NAME); fi
	$(if $(MPI),install -m 755 $(MPI_SO) $(DESTDIR)$(LIBDIR)/ && \
	  install -m 644 $(MPI_A) $(DESTDIR)$(LIBDIR)/ && \
	  install -m 644 $(B)/tessera_mpi.pc $(DESTDIR)$(PKGCONFIGDIR)/ && \
	  ln -sf libtessera_mpi.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtessera_mpi.so.$(SOVERSION) && \
	  ln -sf libtessera_mpi.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libtessera_mpi.so)
	for m in man/*.1; do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in $(MAN3); do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(MANDIR)/man3/; done; true

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS)))
	rm -f $(DESTDIR)$(LIBDIR)/libtessera.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtessera.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libtessera.so $(DESTDIR)$(LIBDIR)/libtessera.a \
	  $(DESTDIR)$(LIBDIR)/libtessera_raster.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtessera_raster.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libtessera_raster.so $(DESTDIR)$(LIBDIR)/libtessera_raster.a \
	  $(DESTDIR)$(PKGCONFIGDIR)/tessera.pc $(DESTDIR)$(PKGCONFIGDIR)/tessera_raster.pc \
	  $(DESTDIR)$(BINDIR)/$(TOOL_NAME)
	$(if $(MPI),rm -f $(DESTDIR)$(LIBDIR)/libtessera_mpi.so.$(VERSION) \
	  $(DESTDIR)$(LIBDIR)/libtessera_mpi.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libtessera_mpi.so \
	  $(DESTDIR)$(LIBDIR)/libtessera_mpi.a $(DESTDIR)$(PKGCONFIGDIR)/tessera_mpi.pc)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))

# ---- quality ---------------------------------------------------------------
man-lint:
	@for m in man/*.[0-9]; do out=$$(mandoc -T lint -W warning "$$m" 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done; echo "man pages: lint clean"
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 -Iinclude -D__GNUC__ --suppress=missingIncludeSystem runtime lib kernels cli \
	  $(if $(MPI_PKG),mpi $(filter -I%,$(shell $(PKG_CONFIG) --cflags $(MPI_PKG))))
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 -Iinclude -D__GNUC__ --suppress=missingIncludeSystem \
	  '-DPy_BEGIN_ALLOW_THREADS={' '-DPy_END_ALLOW_THREADS=}' \
	  '-DPy_RETURN_NONE=return Py_None' python/src

clean:
	rm -rf build

-include $(RT_OBJ:.o=.d) $(RASTER_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(MPI_OBJ:.o=.d) \
	$(PY_OBJ:.o=.d)
