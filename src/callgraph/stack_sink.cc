#include "callgraph/stack_sink.h"

#include <cstdio>
#include <cstring>

#include "perfdata/abi.h"

namespace exitprof::callgraph {

namespace {

// Context markers inside perf callchains (enum perf_callchain_context).
constexpr uint64_t kContextHv = static_cast<uint64_t>(-32);
constexpr uint64_t kContextKernel = static_cast<uint64_t>(-128);
constexpr uint64_t kContextUser = static_cast<uint64_t>(-512);
constexpr uint64_t kContextGuest = static_cast<uint64_t>(-2048);
constexpr uint64_t kContextMax = static_cast<uint64_t>(-4095);

constexpr uint16_t kMiscCommExec = 1 << 13;

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

StackSink::StackSink(const StackOptions& options, std::string kallsyms)
    : options_(options), kallsyms_path_(std::move(kallsyms)) {}

std::vector<std::string> StackSink::warnings() const {
  std::vector<std::string> all = kernel_warnings_;
  all.insert(all.end(), unwinder_.warnings().begin(), unwinder_.warnings().end());
  return all;
}

Result<void> StackSink::OnSessionReady(const recording::SessionInfo& info) {
  info_ = &info;
  if (!options_.event.empty()) {
    attr_filter_ = info.FindAttrByName(options_.event);
    if (attr_filter_ < 0) {
      std::string names;
      for (const auto& a : info.attrs) names += (names.empty() ? "" : ", ") + a.name;
      return Fail(info.path + ": no event " + options_.event + " in this recording (it has: " + names + ")");
    }
    event_name_ = options_.event;
  } else if (!info.attrs.empty()) {
    event_name_ = info.attrs.size() == 1 ? info.attrs[0].name : "all events";
  }
  return {};
}

void StackSink::AddKernelFrame(uint64_t ip, std::vector<std::string>& frames) {
  if (!kernel_loaded_) {
    kernel_loaded_ = true;
    if (!kallsyms_path_.empty()) {
      auto map = symbols::KernelSymbolMap::Load(kallsyms_path_);
      if (map) kernel_ = std::move(*map);
      else kernel_warnings_.push_back("kernel frames left unnamed: " + map.error().message);
    }
  }
  if (kernel_) {
    if (auto hit = kernel_->Find(ip)) {
      frames.push_back(hit->symbol->name);
      return;
    }
  }
  frames.push_back("[unknown] " + Hex(ip));
}

void StackSink::AddUserFrames(uint32_t pid, uint64_t ip, bool is_return_address, std::vector<std::string>& frames) {
  for (auto& f : unwinder_.Symbolize(pid, ip, is_return_address, options_.inlines)) {
    frames.push_back(f.inlined ? f.name + " (inlined)" : f.name);
  }
}

void StackSink::OnEvent(const perfdata::Event& e) {
  using namespace perfdata;
  threads_.Apply(e);
  switch (e.type) {
    case kRecordMmap:
    case kRecordMmap2:
      if (e.pid != UINT32_MAX) {
        maps_.Map(e.pid, Mapping{e.map_start, e.map_start + e.map_len, e.map_pgoff, e.map_prot, std::string(e.filename)});
      }
      return;
    case kRecordComm:
      if (e.misc & kMiscCommExec) maps_.Exec(e.pid);
      return;
    case kRecordFork:
      if (e.pid != e.ppid) maps_.Fork(e.ppid, e.pid);
      return;
    case kRecordLost:
      stats_.lost += e.lost;
      return;
    case kRecordSample:
      break;
    default:
      return;
  }
  if (attr_filter_ >= 0 && e.attr_index != attr_filter_) return;
  ++stats_.samples;
  const EventAttr& attr = info_->attrs[static_cast<size_t>(e.attr_index)];
  std::vector<std::string> frames;  // leaf first

  // The callchain: kernel part, then (frame pointers) the user part.
  bool user = false;
  size_t user_entries = 0;
  for (size_t i = 0; i < e.callchain_size() && frames.size() < options_.max_stack; ++i) {
    uint64_t ip = e.callchain_at(i);
    if (ip >= kContextMax) {
      user = ip == kContextUser;
      continue;
    }
    if (!user) {
      AddKernelFrame(ip, frames);
      continue;
    }
    // Every user entry after the first is a return address.
    auto named = unwinder_.Symbolize(e.pid, ip, user_entries > 0, options_.inlines);
    for (auto& f : named) frames.push_back(f.inlined ? f.name + " (inlined)" : f.name);
    if (user_entries == 0 && !named.empty() && named.back().offset == 0 && named.back().name != "[unknown]" &&
        e.stack_user.size() >= 8 && attr.sample_stack_user <= 64) {
      // At a function's first instruction the frame pointer chain skips the direct caller (the
      // function has not pushed its frame yet); the return address on top of the stack is it.
      uint64_t ret = 0;
      std::memcpy(&ret, e.stack_user.data(), 8);
      uint64_t next = i + 1 < e.callchain_size() ? e.callchain_at(i + 1) : 0;
      if (ret != next && maps_.Find(e.pid, ret)) {
        AddUserFrames(e.pid, ret, true, frames);
        ++stats_.caller_recovered;
      }
    }
    ++user_entries;
  }
  if (!e.regs_user.empty() && e.stack_user.size() >= 16 && attr.sample_stack_user > 64) {
    // DWARF: unwind the user part from the registers and the stack copy.
    UserSample sample{e.pid, e.tid, attr.sample_regs_user, e.regs_user, e.stack_user};
    auto user_frames = unwinder_.Unwind(sample, options_.max_stack, options_.inlines);
    if (!user_frames.empty()) ++stats_.unwound_dwarf;
    for (auto& f : user_frames) frames.push_back(f.inlined ? f.name + " (inlined)" : f.name);
  } else if (e.callchain.empty()) {
    if (e.ip) {
      if ((e.misc & 7) == 1 /* PERF_RECORD_MISC_KERNEL */) AddKernelFrame(e.ip, frames);
      else AddUserFrames(e.pid, e.ip, false, frames);
    }
    ++stats_.without_stack;
  }
  if (options_.comm_root) {
    frames.push_back(threads_.table().PerfComm(e.tid));  // as perf script names it, for stackcollapse
  }
  tree_.Add(frames, 1);
}

}  // namespace exitprof::callgraph
