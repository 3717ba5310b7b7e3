// One line of a text capture of trace events, split into its parts. Three layouts print the
// same events (the payload after "event:" is the kernel's print fmt in all of them):
//   perf script      "  CPU 0/KVM 13681 [001]  1538.726576:    kvm:kvm_pio: pio_write ..."
//                    (-F may print "pid/tid" instead of the tid)
//   trace-cmd report "CPU 0/KVM-13681 [001]  1538.726576: kvm_pio: pio_write ..."
//                    (latency columns "d..1." may follow the CPU; -l glues the CPU to
//                    them, "CPU 0/KV-13681  1d..1."; instance buffers prefix "NAME: ")
//   ftrace trace     "CPU 0/KVM-13681 [001] d..1.  1538.726576: kvm_pio: pio_write ..."
//                    (with record-tgid: "comm-tid (  tgid) [001] ...")
// Reduced perf script -F output may leave out the thread, its name or the CPU ("CPU 0/KVM
// 1538.726576: kvm:kvm_pio: ..."; "1538.726576: kvm:kvm_exit: ..."), and text pasted without
// its prefix is only "kvm_exit: reason ..." (kvm events only, for both: other text is prose).
// Mail quoting ("> ", "> > ") and leading whitespace are stripped first.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace exitprof::textcapture {

enum class Layout : uint8_t { kUnknown, kPerfScript, kTraceCmd, kFtrace };
const char* LayoutName(Layout layout);

struct TextLine {
  Layout layout = Layout::kUnknown;
  std::string_view comm;
  std::string_view buffer;  // trace-cmd report's instance name before the thread, if any
  uint32_t tid = 0;
  std::optional<uint32_t> pid;  // only when the line says it (perf -F pid,tid; ftrace tgid)
  uint32_t cpu = 0;
  uint64_t time_ns = 0;
  bool has_tid = true, has_cpu = true, has_time = true;  // whether the line printed them
  uint8_t time_digits = 0;  // fraction digits of the timestamp (6: microseconds)
  std::string_view system;  // "kvm" when printed ("kvm:kvm_exit"), else empty
  std::string_view event;   // "kvm_exit"
  std::string_view payload;  // trailing whitespace removed
};

// Quote marks and surrounding whitespace removed.
std::string_view StripQuoting(std::string_view line);
// True for lines no tool prints an event on: blank, "# ..." comments, trace-cmd's "cpus=N" and
// "version = 6" headers, ftrace's "CPU 3 buffer started" and "##### CPU 2 buffer started ####".
bool IsHeaderLine(std::string_view stripped);
// Parses a stripped line; nullopt when it is not an event line of a known layout.
std::optional<TextLine> ParseLine(std::string_view stripped);

}  // namespace exitprof::textcapture
