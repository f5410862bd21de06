# channel-exporter: the commands README.md names. Each target installs what it
# needs on a fresh Debian machine that has only the Swift toolchain.
SHELL := /bin/bash
APT_PACKAGES := libpcap-dev zlib1g-dev pkg-config tcpdump tshark curl python3 prometheus iproute2 ethtool systemd
SWIFT_FLAGS ?=

.PHONY: deps build release test demo run bench check-config image-context image check-image

# System packages the build and the tests use (root; idempotent).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	swift build $(SWIFT_FLAGS)

# The binary as installed and as the image holds it: the Swift runtime and Foundation linked in,
# so nothing but libpcap, zlib and libstdc++ is needed beside it, and a run starts without
# resolving symbols across a dozen shared libraries (a replay's start: 46.6 M -> 32.5 M instructions).
# Each function in a section of its own, and the hot ones laid out together first, in the order
# Benchmarks/hot-functions.order gives (made by Benchmarks/hot-functions.sh from profiles of the
# bench captures): the per-exchange code then evicts itself from the instruction cache far less.
HOT_FUNCTIONS := $(CURDIR)/Benchmarks/hot-functions.order
RELEASE_LAYOUT := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
	-Xswiftc -use-ld=gold -Xlinker --section-ordering-file=$(HOT_FUNCTIONS)
release: deps
	swift build -c release --static-swift-stdlib $(RELEASE_LAYOUT) $(SWIFT_FLAGS)

# The test command (README.md, .ci/run).
test: deps
	swift build --build-tests $(SWIFT_FLAGS)
	swift test --skip-build $(SWIFT_FLAGS)

# The main job, offline: replay a bundled real capture and print its metrics.
demo: release
	.build/release/channel-exporter replay captures/parity/outbound.pcap \
		--config.file captures/parity/outbound.config.yaml

# The main job, live: capture on lo and serve /metrics on :9166 (needs root).
run: release
	.build/release/channel-exporter run --config.file deploy/channel-exporter.yaml --interface lo

# The container image deploy/daemonset.yaml runs (deploy/Dockerfile): the release binary (the
# Swift runtime linked in), stripped, and the configuration, as the context.
IMAGE ?= channel-exporter:latest
image-context: release
	rm -rf .build/image && mkdir -p .build/image
	strip -o .build/image/channel-exporter .build/release/channel-exporter
	cp deploy/channel-exporter.yaml .build/image/

image: image-context
	docker build -f deploy/Dockerfile -t $(IMAGE) .build/image

# The same image's steps without Docker, in a Debian root (root, debootstrap, network to deb.debian.org).
check-image: image-context
	command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
	python3 deploy/check-image.py .build/image

bench: deps
	cd Benchmarks && swift run -c release bench

check-config: build
	.build/debug/channel-exporter check-config deploy/channel-exporter.yaml
