# casacal — `make run` and `make test` work on a fresh Debian 12 machine as root.

SHELL := /bin/bash
JOBS  ?= $(shell nproc)
DEBS  := cmake g++ make pkg-config ca-certificates zlib1g-dev \
         libboost1.74-dev libcurl4-openssl-dev libical-dev libsqlite3-dev \
         libtomlplusplus-dev libsystemd-dev nlohmann-json3-dev catch2 \
         python3 python3-icalendar python3-recurring-ical-events python3-aiosmtpd \
         tzdata sqlite3 curl libssl-dev libjemalloc-dev spamassassin
BENCH_DEBS := wrk nginx-light hyperfine postfix

RELEASE := build/release
PGO_BUILD := build/pgo-generate
PGO_PROFILE := $(CURDIR)/build/pgo-profile
TESTBUILD := build/test
CONFIG ?= examples/casaco/casacal.toml

PREFIX ?= /usr
SYSCONFDIR ?= /etc

.PHONY: all deps build run test bench clean node-deps install

all: build

# Installs only what is missing, so it is quick when nothing is.
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v node >/dev/null || { echo "installing: nodejs"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }

node-deps: deps
	@if [ ! -d tests/integration/node_modules/ical.js ]; then cd tests/integration && npm ci --no-audit --no-fund --silent; fi

# The release binary is optimised with the counts of a training run
# (profile-guided optimisation, docs/performance.md): an instrumented build
# runs bench/train.py, then the release build reads what it recorded. The
# training runs again, and the release build starts over, only when the
# instrumented binary changed. A training run that fails leaves a release
# build without a profile (and a warning), not no binary at all; the next
# `make build` tries the training again.
build: deps
	cmake -S . -B $(PGO_BUILD) -DCMAKE_BUILD_TYPE=Release -DCASACAL_TESTS=OFF \
	  -DCASACAL_PGO=generate -DCASACAL_PGO_DIR=$(PGO_PROFILE) >/dev/null
	cmake --build $(PGO_BUILD) -j$(JOBS) --target casacal
	@if [ ! -f $(PGO_PROFILE)/trained ] || [ $(PGO_BUILD)/daemon/casacal -nt $(PGO_PROFILE)/trained ]; then \
	  rm -rf $(PGO_PROFILE) $(RELEASE); \
	  if /usr/bin/python3 bench/train.py --binary $(PGO_BUILD)/daemon/casacal; then \
	    touch $(PGO_PROFILE)/trained; \
	  else \
	    echo "warning: the training run failed; building casacal without a profile" >&2; \
	  fi; \
	fi
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DCASACAL_TESTS=OFF \
	  -DCASACAL_PGO=$$([ -f $(PGO_PROFILE)/trained ] && echo use) -DCASACAL_PGO_DIR=$(PGO_PROFILE) >/dev/null
	cmake --build $(RELEASE) -j$(JOBS) --target casacal

run: build
	$(RELEASE)/daemon/casacal serve -c $(CONFIG)

test: deps node-deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DCASACAL_SANITIZE=ON >/dev/null
	cmake --build $(TESTBUILD) -j$(JOBS)
	cd $(TESTBUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	@missing=$$(for p in $(BENCH_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi
	cmake --build $(RELEASE) -j$(JOBS) --target smtp_floor toml_floor
	/usr/bin/python3 bench/run.py --binary $(RELEASE)/daemon/casacal

# What systemd/casacal.service expects: the binary, the unit, the docs it
# names, and a site in $(SYSCONFDIR)/casacal (the example's, with its state
# under /var/lib/casacal) only when there is none yet; an empty password
# file for LoadCredential= likewise. `systemctl daemon-reload` then
# `systemctl enable --now casacal` start it. DESTDIR stages a package.
install: build
	install -D -m 0755 $(RELEASE)/daemon/casacal $(DESTDIR)$(PREFIX)/bin/casacal
	install -d $(DESTDIR)$(PREFIX)/share/doc/casacal $(DESTDIR)/etc/systemd/system
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/casacal/
	sed -e 's|/usr/bin/casacal|$(PREFIX)/bin/casacal|' -e 's|/etc/casacal/|$(SYSCONFDIR)/casacal/|g' \
	  -e 's|file:///usr/share/doc/|file://$(PREFIX)/share/doc/|' \
	  systemd/casacal.service > $(DESTDIR)/etc/systemd/system/casacal.service
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/casacal/casacal.toml ]; then \
	  install -d $(DESTDIR)$(SYSCONFDIR)/casacal/events.d; \
	  install -m 0644 examples/casaco/events.d/*.toml $(DESTDIR)$(SYSCONFDIR)/casacal/events.d/; \
	  install -m 0644 examples/casaco/members.toml $(DESTDIR)$(SYSCONFDIR)/casacal/; \
	  sed -e 's|^database = "casacal.db"|database = "/var/lib/casacal/casacal.db"|' \
	      -e 's|^pickup_dir = "outbox"|pickup_dir = "/var/lib/casacal/outbox"|' \
	      examples/casaco/casacal.toml > $(DESTDIR)$(SYSCONFDIR)/casacal/casacal.toml; \
	  echo "installed the example site in $(SYSCONFDIR)/casacal: edit it, then casacal check"; \
	fi
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/casacal/smtp-password ]; then \
	  install -m 0600 /dev/null $(DESTDIR)$(SYSCONFDIR)/casacal/smtp-password; \
	fi

clean:
	rm -rf build
