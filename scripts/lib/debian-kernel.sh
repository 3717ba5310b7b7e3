# Sourced by scripts/kvm-lab.sh and scripts/seed-guest.sh: Debian packages and kernels as the
# archive has them today (never a pinned version: old ones leave the archive). The caller
# defines die MESSAGE.
SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo

need() {  # need COMMAND PACKAGE: installs PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null && return
  $SUDO apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$2" >/dev/null; } ||
    die "cannot install $2"
}

debian_kernel_version() {  # debian_kernel_version FLAVOUR (amd64, cloud-amd64): e.g. 6.1.0-57-amd64
  local flavour=$1 v
  v=$(apt-cache depends "linux-image-$flavour" 2>/dev/null | sed -n "s/.*Depends: linux-image-\(.*-$flavour\)\$/\1/p" | head -1)
  if [[ -z $v ]]; then
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    v=$(apt-cache depends "linux-image-$flavour" 2>/dev/null | sed -n "s/.*Depends: linux-image-\(.*-$flavour\)\$/\1/p" | head -1)
  fi
  [[ -n $v ]] || die "apt-cache does not know linux-image-$flavour (is the Debian archive reachable?)"
  echo "$v"
}

download() {  # download PACKAGE DIR: apt-get download into DIR (the archive's current version)
  (cd "$2" && apt-get download "$1" >/dev/null 2>&1) ||
    { $SUDO apt-get update -qq >/dev/null 2>&1; (cd "$2" && apt-get download "$1" >/dev/null 2>&1); } ||
    die "cannot download $1 (no network? The lab has none: fetch outside it first)"
}
