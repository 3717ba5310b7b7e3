// Why the kernel would refuse a kprobe on a function, told without the kernel's kprobes: it
// refuses functions ftrace cannot patch ("Could not probe notrace function F" in dmesg), which
// are exactly those missing from tracefs' available_filter_functions, and those on the kprobe
// blacklist (debugfs kprobes/blacklist). For such a function, its direct callers in a vmlinux
// are where to probe instead (as vp_notify is for iowrite16).
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/result.h"

namespace exitprof::probe {

struct KernelFunctionLists {
  std::optional<std::unordered_set<std::string>> traceable;  // nullopt: the list could not be read
  std::unordered_set<std::string> blacklisted;
  bool Probeable(const std::string& function) const {
    return !blacklisted.count(function) && (!traceable || traceable->count(function));
  }
};

// Reads FILTER_FUNCTIONS ("name" or "name [module]" lines) and BLACKLIST ("0xSTART-0xEND\tname"
// lines). A file that cannot be read leaves its list unknown (traceable) or empty (blacklisted).
KernelFunctionLists ReadKernelFunctionLists(const std::string& filter_functions_path,
                                            const std::string& blacklist_path = "/sys/kernel/debug/kprobes/blacklist");

// Functions of an x86-64 ELF with a direct call or jump (rel32) to `function`, sorted, each once;
// the function itself is left out. A vmlinux (or any linked binary) by its call instructions; a
// kernel module (.ko) by its call relocations, since its calls into the kernel are not linked yet
// (virtio_pci.ko's vp_notify calls iowrite16 so).
Result<std::vector<std::string>> DirectCallers(const std::string& elf_path, const std::string& function);

// The one line to tell a user why `function` cannot be probed, or "" when the lists say it can.
// `vmlinux`: where callers were looked for ("" = not given; may name several files); `callers`:
// those found there.
std::string KprobeRefusal(const std::string& function, const KernelFunctionLists& lists, const std::string& vmlinux,
                          const std::vector<std::string>& callers);

}  // namespace exitprof::probe
