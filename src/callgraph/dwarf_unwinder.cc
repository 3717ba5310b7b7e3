#include "callgraph/dwarf_unwinder.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <set>

#include "base/unique_fd.h"

namespace exitprof::callgraph {

namespace {

// perf_event_x86_regs numbering.
enum PerfReg { kAX = 0, kBX, kCX, kDX, kSI, kDI, kBP, kSP, kIP, kFLAGS, kCS, kSS, kDS, kES, kFS, kGS, kR8 = 16 };

uint64_t Reg(const UserSample& s, int reg) {
  if (!(s.regs_mask & (1ULL << reg))) return 0;
  int index = std::popcount(s.regs_mask & ((1ULL << reg) - 1));
  if (static_cast<size_t>(index + 1) * 8 > s.regs.size()) return 0;
  uint64_t v;
  std::memcpy(&v, s.regs.data() + index * 8, 8);
  return v;
}

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

struct UnwindContext {
  const UserSample* sample;
  const ProcessMaps* maps;
  std::unordered_map<std::string, UniqueFd>* files;
};

struct DwflDeleter {
  void operator()(Dwfl* d) const { dwfl_end(d); }
};

}  // namespace

struct DwarfUnwinder::Process {
  uint32_t pid = 0;
  std::unique_ptr<Dwfl, DwflDeleter> dwfl;
  bool attached = false;
  std::set<std::string> reported;          // files reported to dwfl
  std::unordered_map<std::string, UniqueFd> files;  // for reads outside the stack copy
  UnwindContext ctx{};  // what the libdwfl callbacks see; its sample changes per unwinding
  std::unordered_map<uint64_t, std::vector<Frame>> names;  // NameFrames cache
};

DwarfUnwinder::DwarfUnwinder(const ProcessMaps& maps) : maps_(maps) {}
DwarfUnwinder::~DwarfUnwinder() = default;

namespace {

bool SetInitialRegisters(Dwfl_Thread* thread, void* arg) {
  auto* s = static_cast<const UserSample*>(arg);
  // DWARF register order on x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip.
  Dwarf_Word regs[17] = {Reg(*s, kAX), Reg(*s, kDX), Reg(*s, kCX), Reg(*s, kBX), Reg(*s, kSI), Reg(*s, kDI),
                         Reg(*s, kBP), Reg(*s, kSP)};
  for (int i = 0; i < 8; ++i) regs[8 + i] = Reg(*s, kR8 + i);
  regs[16] = Reg(*s, kIP);
  return dwfl_thread_state_registers(thread, 0, 17, regs);
}

}  // namespace

DwarfUnwinder::Process* DwarfUnwinder::ProcessFor(uint32_t pid) {
  auto& slot = processes_[pid];
  if (!slot) {
    slot = std::make_unique<Process>();
    slot->pid = pid;
    slot->ctx = UnwindContext{nullptr, &maps_, &slot->files};
    slot->dwfl.reset(dwfl_begin(&kCallbacks));
  }
  Process& p = *slot;
  if (!p.dwfl) return nullptr;
  // Report files mapped since the last sample (maps only grow between execs in practice;
  // dwfl_report_begin_add keeps what was reported).
  const auto* maps = maps_.Of(pid);
  if (!maps) return &p;
  bool added = false;
  for (const auto& [start, m] : *maps) {
    if (!m.executable() || m.path.empty() || m.path[0] != '/' || p.reported.count(m.path)) continue;
    if (!added) dwfl_report_begin_add(p.dwfl.get());
    added = true;
    p.reported.insert(m.path);
    // The file's address 0 sits at start - pgoff (text segments keep vaddr == file offset).
    Dwfl_Module* mod = dwfl_report_elf(p.dwfl.get(), m.path.c_str(), m.path.c_str(), -1, m.start - m.pgoff, false);
    if (!mod) warnings_.push_back(m.path + ": " + dwfl_errmsg(-1));
  }
  if (added) dwfl_report_end(p.dwfl.get(), nullptr, nullptr);
  return &p;
}

namespace {

bool MemoryRead(Dwfl* dwfl, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  auto* ctx = static_cast<UnwindContext*>(arg);
  const UserSample& s = *ctx->sample;
  uint64_t sp = Reg(s, kSP);
  if (addr >= sp && addr + 8 <= sp + s.stack.size()) {
    std::memcpy(result, s.stack.data() + (addr - sp), 8);
    return true;
  }
  // Outside the stack copy: constant data of a mapped file (what unwinders read of .eh_frame
  // through memory); anything else cannot be known after the fact.
  const Mapping* m = ctx->maps->Find(s.pid, addr);
  if (!m || m->path.empty() || m->path[0] != '/') return false;
  auto& fd = (*ctx->files)[m->path];
  if (!fd.valid()) fd = UniqueFd(::open(m->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  return ::pread(fd.get(), result, 8, static_cast<off_t>(addr - m->start + m->pgoff)) == 8;
}

pid_t NextThread(Dwfl*, void* arg, void** thread_arg) {
  // Only get_thread is used (one thread per unwinding); nothing to iterate.
  return 0;
}

bool GetThread(Dwfl*, pid_t, void* arg, void** thread_arg) {
  *thread_arg = const_cast<UserSample*>(static_cast<UnwindContext*>(arg)->sample);
  return true;
}

const Dwfl_Thread_Callbacks kThreadCallbacks = {
    .next_thread = NextThread,
    .get_thread = GetThread,
    .memory_read = MemoryRead,
    .set_initial_registers = SetInitialRegisters,
    .detach = nullptr,
    .thread_detach = nullptr,
};

struct FrameCollector {
  std::vector<std::pair<uint64_t, bool>> pcs;  // pc, is_activation (leaf or signal frame)
  size_t max;
};

int CollectFrame(Dwfl_Frame* state, void* arg) {
  auto* c = static_cast<FrameCollector*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(state, &pc, &activation)) return DWARF_CB_ABORT;
  if (pc == 0) return DWARF_CB_ABORT;
  c->pcs.emplace_back(pc, activation);
  return c->pcs.size() >= c->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

// The name of an inlined subroutine or function DIE (through its abstract origin).
const char* DieName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die origin;
  if (const char* n = dwarf_diename(die)) return n;
  if (dwarf_attr_integrate(die, DW_AT_abstract_origin, &attr) && dwarf_formref_die(&attr, &origin)) {
    return dwarf_diename(&origin);
  }
  return nullptr;
}

}  // namespace

void DwarfUnwinder::NameFrames(Process& p, uint64_t pc, bool is_return_address, bool inlines,
                               std::vector<Frame>& out) {
  // Stacks repeat: each distinct (pc, kind) of a process is named once.
  uint64_t key = pc * 4 + (is_return_address ? 2 : 0) + (inlines ? 1 : 0);
  auto cached = p.names.find(key);
  if (cached != p.names.end()) {
    out.insert(out.end(), cached->second.begin(), cached->second.end());
    return;
  }
  size_t first = out.size();
  NameFramesUncached(p, pc, is_return_address, inlines, out);
  p.names.emplace(key, std::vector<Frame>(out.begin() + static_cast<long>(first), out.end()));
}

void DwarfUnwinder::NameFramesUncached(Process& p, uint64_t pc, bool is_return_address, bool inlines,
                                       std::vector<Frame>& out) {
  // A return address points after the call: look up the call itself.
  uint64_t lookup = is_return_address && pc > 0 ? pc - 1 : pc;
  Dwfl_Module* mod = dwfl_addrmodule(p.dwfl.get(), lookup);
  Frame frame;
  frame.pc = pc;
  if (!mod) {
    frame.name = "[unknown]";
    if (const Mapping* m = maps_.Find(p.pid, pc)) frame.module = m->path;
    out.push_back(std::move(frame));
    return;
  }
  const char* module_name = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  frame.module = module_name ? module_name : "";
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, lookup, &offset, &sym, nullptr, nullptr, nullptr);
  frame.name = name ? name : "[unknown]";
  // Versioned dynamic symbols ("__libc_start_main@@GLIBC_2.34") are shown by their name, as perf does.
  if (auto at = frame.name.find('@'); at != std::string::npos && at > 0) frame.name.resize(at);
  frame.offset = offset;
  if (inlines) {
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(mod, lookup, &bias);
    Dwarf_Die* scopes = nullptr;
    int n = cu ? dwarf_getscopes(cu, lookup - bias, &scopes) : 0;
    // Innermost first: each inlined subroutine is a frame of its own, called from the next scope.
    for (int i = 0; i < n; ++i) {
      if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
      Frame inl;
      inl.pc = pc;
      inl.module = frame.module;
      inl.inlined = true;
      const char* iname = DieName(&scopes[i]);
      inl.name = iname ? iname : "[unknown]";
      out.push_back(std::move(inl));
    }
    free(scopes);
  }
  out.push_back(std::move(frame));
}

std::vector<Frame> DwarfUnwinder::Unwind(const UserSample& sample, size_t max_frames, bool inlines) {
  std::vector<Frame> frames;
  Process* p = ProcessFor(sample.pid);
  if (!p) return frames;
  p->ctx.sample = &sample;
  if (!p->attached) {
    if (!dwfl_attach_state(p->dwfl.get(), nullptr, static_cast<pid_t>(sample.pid), &kThreadCallbacks, &p->ctx)) {
      warnings_.push_back("pid " + std::to_string(sample.pid) + ": cannot unwind: " + dwfl_errmsg(-1));
      return frames;
    }
    p->attached = true;
  }
  FrameCollector collector{{}, max_frames};
  dwfl_getthread_frames(p->dwfl.get(), static_cast<pid_t>(sample.tid), CollectFrame, &collector);
  for (size_t i = 0; i < collector.pcs.size(); ++i) {
    NameFrames(*p, collector.pcs[i].first, i > 0 && !collector.pcs[i].second, inlines, frames);
  }
  return frames;
}

std::vector<Frame> DwarfUnwinder::Symbolize(uint32_t pid, uint64_t pc, bool is_return_address, bool inlines) {
  std::vector<Frame> frames;
  Process* p = ProcessFor(pid);
  if (p) NameFrames(*p, pc, is_return_address, inlines, frames);
  return frames;
}

}  // namespace exitprof::callgraph
