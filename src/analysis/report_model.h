// The renderer-neutral result of `exitprof report`: sorted tables with counts, shares and
// rates. Built from ExitStats; text, JSON and CSV renderers only format it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/exit_stats.h"
#include "recording/event_sink.h"
#include "qemu/device_map.h"

namespace exitprof::analysis {

struct ReasonRow {
  std::string reason;
  uint64_t count = 0;
  double percent = 0, rate_per_s = 0;
};
struct RipRow {
  std::string reason;
  uint64_t rip = 0;
  uint64_t count = 0;
  double percent_of_reason = 0;
  // Guest symbol (report --kallsyms/--vmlinux/--system-map); empty when not asked or unknown.
  std::string symbol, module, srcline;
  uint64_t symbol_offset = 0;
  std::vector<std::string> inline_chain;  // "function at file:line", innermost first
};
// Exits grouped by the guest function their RIP is in (report --by sym).
struct SymbolRow {
  std::string reason;
  std::string symbol, module;  // symbol "" = RIPs no symbol covers
  uint64_t count = 0;
  double percent_of_reason = 0;
  uint64_t rips = 0;  // distinct RIPs
};
struct VcpuRow {
  uint32_t pid = 0, tid = 0;
  int64_t vcpu = -1;  // -1: the format has no vcpu_id (older kernels): the thread stands for it
  std::string comm;
  uint64_t count = 0;
  double percent = 0;
};
struct VmRow {
  uint32_t pid = 0;
  std::string comm;  // the VMM process's (its main thread's) name, "qemu-system-x86"
  std::string name;  // the VM's name (QEMU -name) from the recording's device maps, "" = not known
  uint64_t count = 0;
  double percent = 0;
  uint32_t vcpus = 0;
};
struct PioRow {
  uint16_t port = 0;
  bool write = false;
  uint8_t size = 0;
  uint64_t count = 0;
  std::string name;  // "COM1 (serial)"
  qemu::Attribution device;  // filled by AttributeDevices (device_attribution.h)
};
struct PioThreadRow {
  uint32_t pid = 0, tid = 0;
  std::string comm;
  PioRow access;
};
struct MmioRow {
  uint64_t gpa = 0;
  std::string type;  // "read", "write", "unsatisfied-read"
  uint32_t len = 0;
  uint64_t count = 0;
  std::string name;  // "LAPIC EOI", "HPET"
  qemu::Attribution device;  // filled by AttributeDevices (device_attribution.h)
};
struct MmioPidRow {
  uint32_t pid = 0;  // the VMM process
  MmioRow access;
};
struct MsrRow {
  uint32_t index = 0;
  bool write = false;
  uint64_t count = 0;
  std::string name;  // "IA32_TSC_DEADLINE"
};
// --explain: what the biggest exit sources are and what usually removes them.
struct ExplainRow {
  std::string source;  // a reason, or "port 0x3f8", "MSR 0x6e0", "MMIO 0xfee000b0"
  uint64_t count = 0;
  double percent = 0;  // of exits (or of exit time with --latency)
  std::string what, remedy;
};
struct LatencyRow {
  std::string reason;
  bool idle = false;  // the guest was idle (HLT, MWAIT...): time spent, but not overhead
  double time_percent = 0;
  LatencySummary summary;
};
// Exits per host CPU (report --by cpu).
struct CpuRow {
  uint32_t cpu = 0;
  uint64_t count = 0;
  double percent = 0;
};
struct TimelineSeries {
  std::string name;
  std::vector<uint64_t> counts;  // per bucket
};
struct TimelineModel {
  std::string of;  // "exits" or "userspace_exits"
  uint64_t bucket_ns = 0, first_ns = 0;
  std::vector<TimelineSeries> series;  // by total, largest first
};
struct NamedCount {
  std::string name;
  uint64_t count = 0;
};

struct ReportModel {
  // What was read.
  std::string path;
  bool pipe_mode = false;
  uint64_t file_size = 0;
  std::string hostname, os_release, perf_version, cpu_id;
  std::vector<NamedCount> events;  // per attr name, in attr order, samples after filters
  uint64_t samples = 0;
  uint64_t lost_events = 0, lost_samples = 0, damaged_records = 0, unknown_sample_ids = 0;
  uint64_t first_ns = 0, last_ns = 0;
  double span_s = 0;
  double interval_s = 0;  // live views: the length of the interval the counts cover
  std::string isa;  // "VMX", "SVM" or ""
  std::string trace_clock;     // trace.dat input: the clock of its timestamps
  bool time_in_ticks = false;
  uint64_t time_resolution_ns = 0;  // 0: to the nanosecond; text captures: what they printed (1000 = us)  // timestamps are counter ticks, not nanoseconds
  // Text capture input: its layout, line counts and the first line not understood; notes.
  std::string text_layout;
  uint64_t text_lines = 0, unparsed_lines = 0, first_unparsed_line = 0;
  std::string first_unparsed_text;
  std::vector<std::string> notes;
  std::vector<std::string> warnings;  // damage read around (SessionInfo::warnings)
  bool processes_unknown = false;     // pid = tid: the VM count is a count of threads
  bool synthetic = false;             // written by exitprof-gen, not recorded
  bool has_kvm_exit = false;
  bool has_other_kvm = false;        // kvm events other than kvm_exit fired
  bool kvm_events_recorded = false;  // kvm tracepoints were recorded (whether or not they fired)

  // Exits (kvm_exit).
  uint64_t exits_total = 0;
  std::vector<ReasonRow> by_reason;
  std::vector<RipRow> by_rip;  // top N per reason, reasons in by_reason order
  std::vector<SymbolRow> by_sym;  // per reason, biggest first (with guest symbols)
  std::string guest_symbols;      // what symbolized the RIPs and which KASLR offset ("" = none)
  std::vector<VcpuRow> by_vcpu;
  std::vector<VmRow> by_vm;

  // Exit cost (--latency): per reason, by total time.
  bool has_latency = false;
  std::vector<LatencyRow> latency;
  uint64_t latency_total_ns = 0, latency_idle_ns = 0;
  uint64_t unpaired_exits = 0, entries_without_exit = 0, exits_before_first_entry = 0;
  // What port IO and MMIO accesses cost (perf kvm stat --event=ioport / mmio); `reason` holds
  // perf's key ("0x3f8:POUT", "0xfed000f0:R"); time_percent is of the table's own total.
  std::vector<LatencyRow> latency_ioport, latency_mmio;
  uint64_t latency_ioport_total_ns = 0, latency_mmio_total_ns = 0;
  std::vector<CpuRow> by_cpu;  // exits per host CPU, most first

  // Other kvm events.
  std::vector<NamedCount> userspace_exits;
  std::vector<VcpuRow> userspace_exits_by_thread;  // vcpu stays -1: the event carries no vCPU id
  std::vector<PioRow> pio;
  std::vector<PioRow> pio_from_exits;  // decoded from kvm_exit IO qualifications
  std::vector<PioThreadRow> pio_by_thread;
  std::vector<MmioRow> mmio;  // all processes together
  std::vector<MmioPidRow> mmio_by_pid;
  std::vector<MsrRow> msr;
  struct MmioPageRow {
    uint64_t page = 0;
    uint64_t reads = 0, writes = 0;
    std::string name;
  };
  std::vector<MmioPageRow> mmio_pages;  // accesses grouped by 4 KiB page (unsatisfied-read not counted twice)
  struct InjectedRow {
    uint32_t vector = 0;
    bool soft = false;
    uint64_t count = 0;
  };
  std::vector<InjectedRow> injected;
  std::vector<ExplainRow> explain;
  bool has_timeline = false;
  TimelineModel timeline;          // full resolution (JSON, CSV)
  TimelineModel timeline_compact;  // at most 60 buckets (text)

  // Device attribution (device_attribution.h): which device, BAR and register each port and
  // MMIO access went to, and what could not be attributed, and why.
  struct DeviceRow {
    uint32_t pid = 0;  // the VMM whose device it is; 0 = not told apart (no per-process data)
    qemu::Attribution device;  // offset is kept only when it tells the register apart
    uint64_t pio = 0, mmio = 0;  // accesses (an MMIO read counted once)
    uint64_t count() const { return pio + mmio; }
  };
  struct UnattributedRow {
    uint32_t pid = 0;
    bool io = false;
    uint64_t address = 0;
    uint64_t count = 0;
    std::string why;
  };
  std::string device_map_source;  // "vm.data.devices.json", "QMP /run/vm.sock", "" = none
  std::string device_map_missing;  // why there is no map, when there is none
  std::string device_map_warning;  // e.g. the map is one VM's but the recording holds several
  std::vector<DeviceRow> by_device;
  std::vector<UnattributedRow> unattributed;
};

// perf kvm stat's -k: the order of the latency tables, biggest first: "sample" (or "count"),
// "time" (the mean, as perf 6.1's -k time), "mean", "total" (time in all, our default), "max",
// "min". False for any other key.
bool SortLatency(ReportModel& m, const std::string& key);

// Fills m.explain with up to `n` sources (reasons, then the ports, MSRs and MMIO behind them).
void AddExplanations(ReportModel& m, size_t n);

// Live views: counts cover a fixed interval, so rates are per that interval.
void SetInterval(ReportModel& m, double seconds);

// top_n: RIPs kept per reason (0 = all).
ReportModel BuildReportModel(const recording::SessionInfo& info, const recording::ReadStats& stats,
                             const ExitStats& exits, size_t top_n);

}  // namespace exitprof::analysis
