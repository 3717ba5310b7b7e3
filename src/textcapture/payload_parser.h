// The payload of a kvm event line (the kernel's print fmt output, or trace-cmd's kvm plugin's)
// read back into the fields of its tracepoint, in the order the reader encodes them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace exitprof::textcapture {

enum KindId : uint8_t { kExit, kEntry, kPio, kMmio, kUserspace, kMsr, kKinds };
inline constexpr const char* kEventNames[kKinds] = {"kvm_exit", "kvm_entry", "kvm_pio", "kvm_mmio", "kvm_userspace_exit", "kvm_msr"};
// The fields each kind fills, in Record::f order.
inline constexpr size_t kMaxFields = 9;
inline constexpr std::array<std::array<const char*, kMaxFields>, kKinds> kFields = {{
    {"exit_reason", "guest_rip", "isa", "info1", "info2", "intr_info", "error_code", "vcpu_id", "requests"},
    {"vcpu_id", "rip", "intr_info", "error_code", "immediate_exit", nullptr},
    {"rw", "port", "size", "count", "val", nullptr},
    {"type", "len", "gpa", "val", nullptr},
    {"reason", "errno", nullptr},
    {"write", "ecx", "data", "exception", nullptr},
}};

// One event as the reader keeps it until it is replayed.
struct Record {
  uint64_t time = 0;
  uint32_t tid = 0, pid = 0, cpu = 0;
  uint8_t kind = 0;
  bool has_vcpu = false;            // kvm_exit printed its vcpu (the newer format)
  // A lower-case reason both ISAs name: its VMX value (f[0] holds SVM's); kNoAlt when none.
  // (16 bits: the record stays 96 bytes, which counting a million lines notices.)
  static constexpr uint16_t kNoAlt = UINT16_MAX;
  uint16_t vmx_alt = kNoAlt;
  std::array<uint64_t, kMaxFields> f{};
};

// Reason names no table knows are still counted, under their own name: each gets a value of
// its own, from kUnknownReasonBase up, which the reader adds to the format it encodes with.
inline constexpr uint32_t kUnknownReasonBase = 0xf000, kMaxUnknownReasons = 0x0fff;

// What payloads taught about the file so far.
struct PayloadContext {
  std::string isa_seen;  // "VMX" / "SVM" from a reason name only one ISA has
  std::vector<std::string> unknown_reasons;
  std::map<std::string, uint32_t, std::less<>> unknown_ids;
};

// Parses a kvm event's payload into r.f; false when it does not read as that event's print fmt.
bool ParsePayload(uint8_t kind, std::string_view payload, Record& r, PayloadContext& ctx);

bool ParseHex(std::string_view s, uint64_t& v);
bool ParseDec(std::string_view s, uint64_t& v);

}  // namespace exitprof::textcapture
