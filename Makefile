# stpm: two commands for a fresh Debian machine (see README.md).
#   make setup   system packages, teacher weights, release build
#   make test    the whole test suite
SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libpng-dev libncursesw5-dev ncurses-term tmux

.PHONY: setup packages weights build test

setup: packages weights build

# Installs the system libraries stpm links against, only when one is missing.
packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

weights:
	@scripts/fetch-weights

build:
	swift build -c release --product stpm

test: packages weights
	swift build --build-tests
	swift test --skip-build
