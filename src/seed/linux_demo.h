// `exitprof demo --linux`: the seed end to end with a real Linux guest. The guest (Debian's cloud
// kernel and an initramfs of ours) and the run (QEMU under `exitprof record`, `stat`, `report`
// with the guest's vmlinux and kallsyms, the guest's own probe + record -g) are scripts/
// seed-guest.sh and scripts/seed-demo.sh; this module checks that they can work here and runs them.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace exitprof::seed {

struct LinuxDemoOptions {
  uint64_t blocks = 200;  // 4 KiB O_DIRECT reads from virtio-blk
  uint64_t bytes = 4096;  // drawn from virtio-rng
  std::string dir;        // where to keep everything ("" = a new folder under /tmp)
  bool check_host = false;  // only say whether this host can run it (kvm_exit fires), run nothing
};

// Whether kvm:kvm_exit fires on this host's KVM: counts kvm_exit and kvm_pio around a few
// iterations of our own tiny guest. False on PVM backends (kvm_pio fires, kvm_exit never).
Result<bool> KvmExitFires();

// Where scripts/seed-demo.sh is: $EXITPROF_SEED_SCRIPT, else next to the binary's build folder
// (BIN/../scripts), else the source tree this binary was built from.
Result<std::string> FindSeedScript();

// Checks, then replaces this process with the script (its output and status are the demo's).
// Returns only on failure, or with exit code 0 after check_host found the host fit.
Error RunLinuxDemo(const LinuxDemoOptions& options);

}  // namespace exitprof::seed
