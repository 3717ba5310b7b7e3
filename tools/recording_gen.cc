#include "recording_gen.h"

#include <traceevent/event-parse.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "perfdata/abi.h"
#include "perfdata/writer.h"
#include "trace/trace_events.h"
#include "trace/tracing_data.h"

namespace exitprof::gen {

namespace {

struct Reason {
  const char* name;
  uint32_t code;
  double weight;
  std::vector<uint64_t> rips;
};

std::vector<Reason> VmxReasons() {
  return {{"EXTERNAL_INTERRUPT", 1, 20, {0xffffffff81c3a6cfULL, 0xffffffff81b6d2c7ULL, 0x7f4c1e9b3c40ULL}},
          {"MSR_WRITE", 32, 20, {0xffffffff810a5344ULL, 0xffffffff8107d8a2ULL}},
          {"IO_INSTRUCTION", 30, 14, {0xffffffff8176a3b6ULL, 0xffffffff8172c5c8ULL}},
          {"HLT", 12, 10, {0xffffffff81c3a6ceULL}},
          {"PREEMPTION_TIMER", 52, 8, {0xffffffff81b6d2c7ULL, 0x55d0a4c1b1f4ULL}},
          {"EPT_MISCONFIG", 49, 8, {0xffffffff8179e3a2ULL, 0xffffffff81e2a17dULL}},
          {"EPT_VIOLATION", 48, 5, {0xffffffff81428f5cULL}},
          {"PAUSE_INSTRUCTION", 40, 5, {0xffffffff81c2f4a1ULL}},
          {"MSR_READ", 31, 4, {0xffffffff810a5399ULL}},
          {"CPUID", 10, 2, {0xffffffff81040a12ULL}},
          {"EOI_INDUCED", 45, 2, {0xffffffff8108c2aeULL}},
          {"APIC_WRITE", 56, 2, {0xffffffff8108c4f8ULL}}};
}

std::vector<Reason> SvmReasons() {
  return {{"interrupt", 0x60, 20, {0xffffffff81c3a6cfULL, 0xffffffff81b6d2c7ULL}},
          {"msr", 0x7c, 20, {0xffffffff810a5344ULL}},
          {"io", 0x7b, 14, {0xffffffff8176a3b6ULL, 0xffffffff8172c5c8ULL}},
          {"hlt", 0x78, 10, {0xffffffff81c3a6ceULL}},
          {"npf", 0x400, 10, {0xffffffff8179e3a2ULL, 0xffffffff81428f5cULL}},
          {"pause", 0x77, 5, {0xffffffff81c2f4a1ULL}},
          {"cpuid", 0x72, 2, {0xffffffff81040a12ULL}},
          {"vintr", 0x64, 3, {0x55d0a4c1b1f4ULL}}};
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(path + ": cannot read format file", 1);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fills a tracepoint payload field by field, at the places the format gives.
class Payload {
 public:
  Payload(tep_event* event) : event_(event) {
    size_t size = 0;
    for (tep_format_field* f = event->format.fields; f; f = f->next) size = std::max<size_t>(size, f->offset + f->size);
    bytes_.assign(size, 0);
    Set("common_type", static_cast<uint64_t>(event->id));
  }
  void Set(const char* name, uint64_t value) {
    tep_format_field* f = tep_find_any_field(event_, name);
    if (!f) return;
    std::memcpy(bytes_.data() + f->offset, &value, std::min<size_t>(f->size, 8));
  }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  tep_event* event_;
  std::vector<uint8_t> bytes_;
};

struct Vcpu {
  uint32_t pid, tid, id, cpu;
  uint64_t clock;
};

struct Pending {
  uint64_t time;
  uint32_t cpu;
  size_t attr;
  uint32_t pid, tid;
  std::vector<uint8_t> raw;
};

}  // namespace

Result<GenTruth> GenerateRecording(const GenOptions& o, const std::string& out_path) {
  trace::TracingData td;
  auto hp = ReadText(o.formats_dir + "/header_page");
  auto he = ReadText(o.formats_dir + "/header_event");
  if (!hp) return tl::unexpected(hp.error());
  if (!he) return tl::unexpected(he.error());
  td.header_page = *hp;
  td.header_event = *he;
  const std::vector<std::string> names = {"kvm_entry", "kvm_exit", "kvm_mmio", "kvm_pio"};
  for (const auto& n : names) {
    std::string path = n == "kvm_exit" && !o.kvm_exit_format.empty() ? o.kvm_exit_format : o.formats_dir + "/kvm/" + n;
    auto text = ReadText(path);
    if (!text) return tl::unexpected(text.error());
    td.formats.push_back({"kvm", *text});
  }
  auto events = trace::TraceEvents::Create(td, o.formats_dir);
  if (!events) return tl::unexpected(events.error());
  std::vector<tep_event*> tep;
  for (const auto& n : names) {
    tep_event* e = (*events)->FindByName("kvm", n);
    if (!e) return Fail(o.formats_dir + ": no usable format for kvm:" + n, 1);
    tep.push_back(e);
  }

  recording::SessionInfo info;
  info.tracing_data = trace::EncodeTracingData(td);
  info.hostname = "kvm-host-01";
  info.os_release = "6.18.44";
  // The VERSION feature names the writer (perf puts its own version there): readers, exitprof
  // report among them, can tell this file is synthetic.
  info.perf_version = "exitprof-gen";
  info.arch = "x86_64";
  info.nr_cpus_available = info.nr_cpus_online = 8;
  info.cpu_desc = o.svm ? "AMD EPYC 7B13" : "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz";
  info.cpu_id = o.svm ? "AuthenticAMD,25,1,0" : "GenuineIntel,6,85,4";
  info.total_mem_kb = 263856748;
  info.cmdline = {"exitprof-gen", "--exits", std::to_string(o.exits), "--seed", std::to_string(o.seed),
                  "--vms", std::to_string(o.vms)};
  if (o.svm) info.cmdline.push_back("--svm");
  uint64_t next_id = 1000;
  for (size_t i = 0; i < names.size(); ++i) {
    perfdata::EventAttr a;
    a.type = perfdata::kTypeTracepoint;
    a.config = static_cast<uint64_t>(tep[i]->id);
    a.sample_period = 1;
    a.sample_type = perfdata::kSampleIp | perfdata::kSampleTid | perfdata::kSampleTime | perfdata::kSampleCpu |
                    perfdata::kSamplePeriod | perfdata::kSampleRaw | perfdata::kSampleIdentifier;
    a.read_format = perfdata::kReadId | perfdata::kReadLost;
    a.flags = 1 /*disabled*/ | 2 /*inherit*/ | perfdata::kAttrFlagSampleIdAll | (1ULL << 20) /*exclude_guest*/;
    a.name = "kvm:" + names[i];
    for (uint32_t cpu = 0; cpu < info.nr_cpus_online; ++cpu) a.ids.push_back(next_id++);
    info.attrs.push_back(a);
  }
  auto writer = perfdata::Writer::Create(out_path, info, o.pipe);
  if (!writer) return tl::unexpected(writer.error());

  // As perf does: the kernel's map first, so that perf report places kernel addresses.
  if (auto w = writer->WriteMmap(UINT32_MAX, 0, 0xffffffff81000000ULL, 0x12090c8, 0xffffffff81000000ULL,
                                 "[kernel.kallsyms]_text", 1 /* PERF_RECORD_MISC_KERNEL */, 0);
      !w) {
    return tl::unexpected(w.error());
  }
  std::mt19937_64 rng(o.seed);
  auto reasons = o.svm ? SvmReasons() : VmxReasons();
  std::vector<double> weights;
  for (const auto& r : reasons) weights.push_back(r.weight);
  std::discrete_distribution<size_t> pick_reason(weights.begin(), weights.end());

  GenTruth truth;
  std::vector<Vcpu> vcpus;
  const uint32_t base_pids[] = {10061, 17304, 41095, 52210, 60111};
  for (int vm = 0; vm < std::clamp(o.vms, 1, 5); ++vm) {
    uint32_t pid = base_pids[vm];
    auto w = writer->WriteComm(pid, pid, "qemu-system-x86", o.start_ns - 1000);
    if (!w) return tl::unexpected(w.error());
    // KVM's kernel workers, as a real host writes them: kthreadd forks them, and the VMM thread
    // that makes them names them, so the COMM's sample_id trailer carries the VMM's ids (the
    // main thread for kvm-pit, vCPU 0 for kvm-nx-lpage-recovery, which newer kernels start on
    // the first KVM_RUN). Readers must name pid+1 and pid+2, never the VMM's threads.
    const perfdata::Writer::Reporter kthreadd{2, 2};
    const std::string pit = "kvm-pit/" + std::to_string(pid);
    w = writer->WriteFork(pid + 2, 2, pid + 2, 2, o.start_ns - 950, kthreadd);
    if (w) w = writer->WriteComm(pid + 2, pid + 2, pit, o.start_ns - 950, false, perfdata::Writer::Reporter{pid, pid});
    if (!w) return tl::unexpected(w.error());
    uint32_t n = 2 + 2 * static_cast<uint32_t>(vm % 3);
    for (uint32_t v = 0; v < n; ++v) {
      uint32_t tid = pid + 3 + v;
      w = writer->WriteComm(pid, tid, "CPU " + std::to_string(v) + "/KVM", o.start_ns - 900);
      if (!w) return tl::unexpected(w.error());
      vcpus.push_back({pid, tid, v, static_cast<uint32_t>(vcpus.size() % info.nr_cpus_online),
                       o.start_ns + rng() % 5000});
    }
    w = writer->WriteFork(pid + 1, 2, pid + 1, 2, o.start_ns - 800, kthreadd);
    if (w) w = writer->WriteComm(pid + 1, pid + 1, "kvm-nx-lpage-recovery", o.start_ns - 800, false,
                                 perfdata::Writer::Reporter{pid, pid + 3});
    if (!w) return tl::unexpected(w.error());
  }

  std::vector<Pending> round;
  auto emit = [&](Vcpu& v, size_t attr, Payload& p) {
    round.push_back({v.clock, v.cpu, attr, v.pid, v.tid, {p.bytes().begin(), p.bytes().end()}});
    truth.samples_by_event["kvm:" + names[attr]]++;
    if (truth.first_ns == 0 || v.clock < truth.first_ns) truth.first_ns = v.clock;
    truth.last_ns = std::max(truth.last_ns, v.clock);
  };
  auto flush_round = [&]() -> Result<void> {
    // Per CPU, as perf drains its ring buffers: not globally sorted.
    std::stable_sort(round.begin(), round.end(), [](const Pending& a, const Pending& b) {
      return a.cpu != b.cpu ? a.cpu < b.cpu : a.time < b.time;
    });
    for (const auto& p : round) {
      perfdata::SampleFields s;
      s.pid = p.pid;
      s.tid = p.tid;
      s.time = p.time;
      s.cpu = p.cpu;
      s.ip = 0xffffffffc0a1b2c3ULL;
      s.raw = p.raw;
      if (auto w = writer->WriteSample(p.attr, s); !w) return w;
    }
    round.clear();
    return writer->WriteFinishedRound();
  };

  const size_t kEntry = 0, kExit = 1, kMmio = 2, kPio = 3;
  for (uint64_t i = 0; i < o.exits; ++i) {
    // The vCPU with the oldest clock runs next, so rounds hold a time slice.
    auto& v = *std::min_element(vcpus.begin(), vcpus.end(), [](const Vcpu& a, const Vcpu& b) { return a.clock < b.clock; });
    if (rng() % 97 == 0) v.cpu = static_cast<uint32_t>(rng() % info.nr_cpus_online);  // migration
    const Reason& r = reasons[pick_reason(rng)];
    uint64_t rip = r.rips[rng() % r.rips.size()];
    if (rip >= 0xffffffff80000000ULL) rip += o.kaslr_offset;
    Payload exit(tep[kExit]);
    exit.Set("common_pid", v.tid);
    exit.Set("exit_reason", r.code);
    exit.Set("guest_rip", rip);
    exit.Set("isa", o.svm ? 2 : 1);
    exit.Set("vcpu_id", v.id);
    emit(v, kExit, exit);
    truth.by_reason[r.name]++;
    truth.by_reason_rip[{r.name, rip}]++;
    truth.by_vcpu[{v.pid, v.id}]++;
    truth.by_pid[v.pid]++;
    v.clock += 200 + rng() % 800;
    std::string name = r.name;
    if (name == "IO_INSTRUCTION" || name == "io") {
      bool write = rng() % 3 != 0;
      uint16_t port = write ? (rng() % 2 ? 0xc050 : 0xc090) : 0x3fd;
      uint8_t size = write ? 2 : 1;
      Payload pio(tep[kPio]);
      pio.Set("common_pid", v.tid);
      pio.Set("rw", write);
      pio.Set("port", port);
      pio.Set("size", size);
      pio.Set("count", 1);
      pio.Set("val", write ? 0 : 0x60);
      emit(v, kPio, pio);
      truth.pio[{port, write, size}]++;
      v.clock += 100 + rng() % 300;
    } else if (name == "EPT_MISCONFIG" || name == "npf") {
      bool write = rng() % 2;
      uint64_t gpa = write ? 0xfebc3818ULL : 0xfed000f0ULL;
      Payload mmio(tep[kMmio]);
      mmio.Set("common_pid", v.tid);
      mmio.Set("type", write ? 2 : 1);
      mmio.Set("len", 4);
      mmio.Set("gpa", gpa);
      emit(v, kMmio, mmio);
      truth.mmio[{gpa, write ? "write" : "read", 4}]++;
      v.clock += 100 + rng() % 300;
    }
    Payload entry(tep[kEntry]);
    entry.Set("common_pid", v.tid);
    entry.Set("vcpu_id", v.id);
    entry.Set("rip", rip);
    emit(v, kEntry, entry);
    v.clock += (name == "HLT" || name == "hlt") ? 20000 + rng() % 200000 : 300 + rng() % 3000;
    if (o.lost_every && (i + 1) % o.lost_every == 0) {
      if (auto w = writer->WriteLost(info.attrs[kExit].ids[0], 3, v.clock); !w) return tl::unexpected(w.error());
      truth.lost += 3;
    }
    if (round.size() >= 4000) {
      if (auto w = flush_round(); !w) return tl::unexpected(w.error());
    }
  }
  if (auto w = flush_round(); !w) return tl::unexpected(w.error());
  if (auto w = writer->Finish(); !w) return tl::unexpected(w.error());
  return truth;
}

}  // namespace exitprof::gen
