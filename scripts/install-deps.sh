#!/usr/bin/env bash
# Installs every Debian 12 package exitprof needs to build, test, benchmark and fuzz.
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  # libraries (see DEVELOPERS.md: Debian packages made for this field)
  libtraceevent-dev libzstd-dev libfmt-dev nlohmann-json3-dev libcli11-dev libexpected-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 time
  # reference clients: what we write they must read, and the other way round
  linux-perf trace-cmd
  # a third-party VMM for the live tests (QEMU boots our tiny multiboot guest with qboot)
  qemu-system-x86
  # fuzzing (libFuzzer ships with clang's runtime)
  clang libclang-rt-14-dev llvm-14 zstd
  # guest symbolization (src/symbols: elfutils) and its reference client, GNU addr2line
  libdw-dev libelf-dev binutils
  # exitprof stat: its interactive mode (ncurses) and the tmux that drives it in tests
  libncurses-dev tmux
  # flame graphs are checked as people see them: rendered by headless Chromium
  chromium
  # in-kernel aggregation: BPF programs (clang -target bpf), skeletons (bpftool), libbpf;
  # capsh for the test that drops CAP_BPF
  libbpf-dev bpftool linux-libc-dev libcap2-bin
  # trace.dat input: zlib-compressed v7 files; libtraceevent's plugins (trace-cmd report's layout)
  zlib1g-dev libtraceevent1-plugin
  # packaging: man pages from --help (help2man), the .deb (dpkg-dev's dpkg-shlibdeps), and the
  # zsh that checks the zsh completion's syntax
  help2man dpkg-dev zsh
  # the seed's Linux guest (scripts/seed-guest.sh): its initramfs (busybox, cpio); the cloud
  # kernel and its -dbg vmlinux are fetched with apt-get download when first needed
  busybox-static cpio
  # exitprof serve: its HTTP server (cpp-httplib; its header needs the TLS and compression
  # headers it was built with), and the real Prometheus, promtool and wrk its tests run
  libcpp-httplib-dev libssl-dev libbrotli-dev prometheus wrk
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
