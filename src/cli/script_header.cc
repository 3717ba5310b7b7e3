#include "cli/script_header.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "perfdata/abi.h"

namespace exitprof::cli {

namespace {

// perf's feature names, by feature bit (header.c feat_ops).
const char* const kFeatureNames[] = {
    "",          "TRACING_DATA",  "BUILD_ID",     "HOSTNAME",    "OSRELEASE",       "VERSION",     "ARCH",
    "NRCPUS",    "CPUDESC",       "CPUID",        "TOTAL_MEM",   "CMDLINE",         "EVENT_DESC",  "CPU_TOPOLOGY",
    "NUMA_TOPOLOGY", "BRANCH_STACK", "PMU_MAPPINGS", "GROUP_DESC", "AUXTRACE",      "STAT",        "CACHE",
    "SAMPLE_TIME", "MEM_TOPOLOGY", "CLOCKID",     "DIR_FORMAT",  "BPF_PROG_INFO",   "BPF_BTF",     "COMPRESSED",
    "CPU_PMU_CAPS", "CLOCK_DATA",  "HYBRID_TOPOLOGY", "PMU_CAPS"};
constexpr uint32_t kLastFeature = 32;

std::string Bits(uint64_t value, std::initializer_list<const char*> names) {
  std::string out;
  int bit = 0;
  for (const char* name : names) {
    if (value & (1ULL << bit)) out += (out.empty() ? "" : "|") + std::string(name);
    ++bit;
  }
  return out;
}

// perf_event_attr__fprintf: every non-zero field we keep, in perf's order.
std::string AttrFields(const perfdata::EventAttr& a) {
  std::string out;
  auto field = [&](const char* name, uint64_t v, bool hex = false) {
    if (v) out += hex ? fmt::format(", {} = {:#x}", name, v) : fmt::format(", {} = {}", name, v);
  };
  field("type", a.type);
  field("size", a.size);
  field("config", a.config, true);
  field("{ sample_period, sample_freq }", a.sample_period);
  if (a.sample_type) {
    out += ", sample_type = " + Bits(a.sample_type, {"IP", "TID", "TIME", "ADDR", "READ", "CALLCHAIN", "ID", "CPU",
                                                      "PERIOD", "STREAM_ID", "RAW", "BRANCH_STACK", "REGS_USER",
                                                      "STACK_USER", "WEIGHT", "DATA_SRC", "IDENTIFIER", "TRANSACTION",
                                                      "REGS_INTR", "PHYS_ADDR", "AUX", "CGROUP", "DATA_PAGE_SIZE",
                                                      "CODE_PAGE_SIZE", "WEIGHT_STRUCT"});
  }
  if (a.read_format) {
    out += ", read_format = " + Bits(a.read_format, {"TOTAL_TIME_ENABLED", "TOTAL_TIME_RUNNING", "ID", "GROUP", "LOST"});
  }
  // The flag bits of perf_event_attr, in declaration order; precise_ip takes two bits.
  static const char* const kFlags[] = {
      "disabled", "inherit", "pinned", "exclusive", "exclude_user", "exclude_kernel", "exclude_hv", "exclude_idle",
      "mmap", "comm", "freq", "inherit_stat", "enable_on_exec", "task", "watermark", "precise_ip", nullptr,
      "mmap_data", "sample_id_all", "exclude_host", "exclude_guest", "exclude_callchain_kernel",
      "exclude_callchain_user", "mmap2", "comm_exec", "use_clockid", "context_switch", "write_backward",
      "namespaces", "ksymbol", "bpf_event", "aux_output", "cgroup", "text_poke", "build_id", "inherit_thread",
      "remove_on_exec", "sigtrap"};
  for (size_t bit = 0; bit < std::size(kFlags); ++bit) {
    if (!kFlags[bit]) continue;
    uint64_t v = bit == 15 ? (a.flags >> 15) & 3 : (a.flags >> bit) & 1;
    field(kFlags[bit], v);
  }
  if (a.branch_sample_type) out += fmt::format(", branch_sample_type = {:#x}", a.branch_sample_type);
  field("sample_regs_user", a.sample_regs_user, true);
  field("sample_stack_user", a.sample_stack_user);
  field("sample_regs_intr", a.sample_regs_intr, true);
  return out;
}

std::string Usec(uint64_t t) { return fmt::format("{}.{:06}", t / 1000000000ULL, t % 1000000000ULL / 1000ULL); }

bool Has(const recording::SessionInfo& info, uint32_t feature) {
  return std::find(info.features.begin(), info.features.end(), feature) != info.features.end();
}

}  // namespace

std::string PerfHeaderText(const recording::SessionInfo& info) {
  struct stat st;
  if (info.pipe_mode || info.path == "-" || ::stat(info.path.c_str(), &st) != 0) return {};
  std::string out = "# ========\n";
  char when[64] = {};
  ctime_r(&st.st_mtime, when);
  out += fmt::format("# captured on    : {}", when);
  out += "# header version : 1\n";
  out += fmt::format("# data offset    : {}\n# data size      : {}\n# feat offset    : {}\n", info.data_offset,
                     info.data_size, info.data_offset + info.data_size);
  using namespace perfdata;
  for (uint32_t f = 1; f < kLastFeature; ++f) {
    if (!Has(info, f)) continue;
    switch (f) {
      case kFeatHostname: out += "# hostname : " + info.hostname + "\n"; break;
      case kFeatOsRelease: out += "# os release : " + info.os_release + "\n"; break;
      case kFeatVersion: out += "# perf version : " + info.perf_version + "\n"; break;
      case kFeatArch: out += "# arch : " + info.arch + "\n"; break;
      case kFeatNrCpus:
        out += fmt::format("# nrcpus online : {}\n# nrcpus avail : {}\n", info.nr_cpus_online, info.nr_cpus_available);
        break;
      case kFeatCpuDesc: out += "# cpudesc : " + info.cpu_desc + "\n"; break;
      case kFeatCpuId: out += "# cpuid : " + info.cpu_id + "\n"; break;
      case kFeatTotalMem: out += fmt::format("# total memory : {} kB\n", info.total_mem_kb); break;
      case kFeatCmdline:
        out += "# cmdline : ";
        for (const auto& arg : info.cmdline) out += arg + " ";
        out += "\n";
        break;
      case kFeatEventDesc:
        for (const auto& attr : info.attrs) {
          out += "# event : name = " + attr.name + ", ";
          if (!attr.ids.empty()) {
            out += ", id = {";
            for (size_t i = 0; i < attr.ids.size(); ++i) out += fmt::format("{} {}", i ? "," : "", attr.ids[i]);
            out += " }";
          }
          out += AttrFields(attr) + "\n";
        }
        break;
      case kFeatSampleTime:
        out += "# time of first sample : " + Usec(info.first_sample_time) + "\n";
        out += "# time of last sample : " + Usec(info.last_sample_time) + "\n";
        out += fmt::format("# sample duration : {:10.3f} ms\n",
                           static_cast<double>(info.last_sample_time - info.first_sample_time) / 1e6);
        break;
      case kFeatCpuTopology: case kFeatNumaTopology: case kFeatCache: case kFeatMemTopology: case kFeatHybridTopology:
        out += fmt::format("# {} info available, use -I to display\n", kFeatureNames[f]);
        break;
      default:
        break;  // TRACING_DATA and BUILD_ID print nothing; others a kvm recording does not carry
    }
  }
  out += "# missing features: ";
  for (uint32_t f = 1; f < kLastFeature; ++f) {
    if (!Has(info, f)) out += std::string(kFeatureNames[f]) + " ";
  }
  out += "\n# ========\n#\n";
  return out;
}

}  // namespace exitprof::cli
