// Makes synthetic but realistic kvm recordings with our perf.data writer: several VMs (QEMU
// style "CPU n/KVM" threads, and KVM's kernel workers named from the VMM's threads as on a real
// host), kvm_exit/kvm_entry pairs with VMX or SVM reasons and guest RIPs,
// kvm_pio and kvm_mmio events, written per CPU per round as perf does (not globally sorted).
// Returns the exact truth, so tests can compare what readers report with what was written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "base/result.h"

namespace exitprof::gen {

struct GenOptions {
  std::string formats_dir;      // holds header_page, header_event, kvm/<event> format files
  std::string kvm_exit_format;  // overrides formats_dir/kvm/kvm_exit (older kernels' layouts)
  uint64_t exits = 10000;       // kvm_exit events to write
  uint64_t seed = 1;
  bool svm = false;
  bool pipe = false;
  int vms = 3;
  uint64_t start_ns = 45000123456789ULL;
  uint64_t lost_every = 0;  // write a LOST record after every N exits (0 = never)
  uint64_t kaslr_offset = 0;  // added to the guest kernel's RIPs: the same guest, another boot
};

struct GenTruth {
  std::map<std::string, uint64_t> samples_by_event;  // "kvm:kvm_exit" -> n
  std::map<std::string, uint64_t> by_reason;
  std::map<std::pair<std::string, uint64_t>, uint64_t> by_reason_rip;
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> by_vcpu;  // (pid, vcpu id)
  std::map<uint32_t, uint64_t> by_pid;
  std::map<std::tuple<uint16_t, bool, uint8_t>, uint64_t> pio;  // (port, write, size)
  std::map<std::tuple<uint64_t, std::string, uint32_t>, uint64_t> mmio;  // (gpa, type, len)
  uint64_t lost = 0;
  uint64_t first_ns = 0, last_ns = 0;
};

Result<GenTruth> GenerateRecording(const GenOptions& options, const std::string& out_path);

}  // namespace exitprof::gen
