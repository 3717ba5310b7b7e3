#include "guest/vcpu_loop.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <thread>

#include "guest/exit_service.h"
#include "guest/pacer.h"

namespace exitprof::guest {
namespace {

using Clock = std::chrono::steady_clock;

// Where the guest is in its script: which op it must perform next, in which iteration.
class Script {
 public:
  explicit Script(const GuestProgram& program) : program_(program) {}

  // The next op, or nullptr once every iteration is done and the done port is due.
  const Op* Expected() const { return iteration_ < program_.iterations ? &program_.ops[index_] : nullptr; }
  size_t Index() const { return index_; }
  uint64_t Iteration() const { return iteration_; }
  void Advance() {
    if (++index_ == program_.ops.size()) {
      index_ = 0;
      ++iteration_;
    }
  }

 private:
  const GuestProgram& program_;
  size_t index_ = 0;
  uint64_t iteration_ = 0;
};

// Hot-path counters: per op index and per exit reason; turned into keyed maps once at the end.
struct Counters {
  explicit Counters(size_t ops) : per_op(ops, 0) {}
  std::vector<uint64_t> per_op;
  std::array<uint64_t, 64> by_reason{};
  uint64_t done = 0;
};

std::string ErrnoText(int error) { return std::error_code(error, std::generic_category()).message(); }

uint64_t Rip(int vcpu_fd) {
  kvm_regs regs{};
  return ::ioctl(vcpu_fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
}

// An exit other than IO/MMIO, with whatever detail kvm_run carries for it.
std::string DescribeExit(const kvm_run& run) {
  std::string name = fmt::format("{} ({})", ExitReasonName(run.exit_reason), run.exit_reason);
  switch (run.exit_reason) {
    case KVM_EXIT_FAIL_ENTRY:
      return fmt::format("{}: hardware_entry_failure_reason {:#x}", name,
                         run.fail_entry.hardware_entry_failure_reason);
    case KVM_EXIT_INTERNAL_ERROR: {
      std::string text = fmt::format("{}: suberror {}", name, run.internal.suberror);
      for (uint32_t i = 0; i < run.internal.ndata && i < 16; ++i) text += fmt::format(" {:#x}", run.internal.data[i]);
      return text;
    }
    case KVM_EXIT_SHUTDOWN: return name + ": the guest triple-faulted";
    default: return name;
  }
}

// Services one exit. Returns "expected X, got Y" when it was not the exit the script expects.
std::optional<std::string> Service(kvm_run& run, const Script& script) {
  const Op* expected = script.Expected();
  switch (run.exit_reason) {
    case KVM_EXIT_IO: return ServiceIo(run, expected);
    case KVM_EXIT_MMIO: return ServiceMmio(run, expected);
    case KVM_EXIT_HLT:
      if (expected != nullptr && expected->kind == OpKind::kHlt) return std::nullopt;
      [[fallthrough]];
    default: return fmt::format("expected {}, got {}", DescribeExpected(expected), DescribeExit(run));
  }
}

VcpuAccount BuildAccount(const VcpuJob& job, const Counters& counters, const Script& script) {
  VcpuAccount account;
  account.vm = job.vm;
  account.vcpu = job.vcpu;
  account.pid = ::getpid();
  account.tid = ::gettid();
  const std::vector<Op>& ops = job.program->ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    uint64_t n = counters.per_op[i];
    switch (op.kind) {
      case OpKind::kPortOut: account.pio[{op.port, op.size, Direction::kWrite}] += n; break;
      case OpKind::kPortIn: account.pio[{op.port, op.size, Direction::kRead}] += n; break;
      case OpKind::kMmioWrite: account.mmio[{op.gpa, op.size, Direction::kWrite}] += n; break;
      case OpKind::kMmioRead: account.mmio[{op.gpa, op.size, Direction::kRead}] += n; break;
      case OpKind::kHlt: account.hlt += n; break;
    }
  }
  for (uint32_t reason = 0; reason < counters.by_reason.size(); ++reason) {
    if (counters.by_reason[reason] != 0) account.userspace_exits[ExitReasonName(reason)] = counters.by_reason[reason];
  }
  account.done = counters.done;
  account.completed = counters.done != 0;
  account.iterations = script.Iteration();
  account.vm_stats_fd = job.vm_stats_fd;
  account.vcpu_stats_fd = job.kvm_vcpu->HasStatsFd();
  return account;
}

}  // namespace

Result<VcpuAccount> RunVcpu(const VcpuJob& job) {
  std::string thread_name = fmt::format("CPU {}/KVM", job.vcpu);
  ::pthread_setname_np(::pthread_self(), thread_name.c_str());  // best effort, like QEMU

  auto fail = [&](const std::string& what) {
    return Fail(fmt::format("vm {} vcpu {}: {}", job.vm, job.vcpu, what));
  };
  Script script(*job.program);
  Counters counters(job.program->ops.size());
  kvm_run& run = *job.kvm_vcpu->Run();
  int fd = job.kvm_vcpu->Fd();
  std::string stop_reason = "done", error;
  Clock::time_point start = Clock::now();
  Pacer pacer(job.rate, start);

  // Why the loop must end now, or nullptr to go on.
  auto stopping = [&]() -> const char* {
    if (job.stop.stop_requested() || job.abort->load(std::memory_order_relaxed)) return "stopped";
    if (job.deadline && Clock::now() >= *job.deadline) return "duration";
    return nullptr;
  };
  while (true) {
    if (const char* reason = stopping()) {
      stop_reason = reason;
      break;
    }
    if (::ioctl(fd, KVM_RUN, 0) < 0) {
      int error = errno;
      if (error != EINTR) return fail(fmt::format("KVM_RUN: {}", ErrnoText(error)));
      ++counters.by_reason[KVM_EXIT_INTR];  // a signal interrupted KVM_RUN; the guest did nothing
      continue;
    }
    uint32_t reason = run.exit_reason;
    if (reason < counters.by_reason.size()) ++counters.by_reason[reason];
    if (reason == KVM_EXIT_INTR) continue;
    if (reason == KVM_EXIT_INTERNAL_ERROR) {
      // KVM could not run the guest on (nested SVM, as in the KVM lab, now and then fails a
      // real-mode guest so). Not the guest's doing: the vCPU stops, and its account says why,
      // so a caller can tell this from a wrong count and run the guest again.
      stop_reason = ExitReasonName(reason);
      error = fmt::format("vm {} vcpu {}: stopped by {} at rip {:#x}, iteration {}, op {}", job.vm, job.vcpu,
                          DescribeExit(run), Rip(fd), script.Iteration(), script.Index());
      break;
    }
    if (auto problem = Service(run, script)) {
      return fail(fmt::format("rip {:#x}, iteration {}, op {}: {}", Rip(fd), script.Iteration(), script.Index(),
                              *problem));
    }
    if (script.Expected() == nullptr) {  // that was the done write
      ++counters.done;
      break;
    }
    ++counters.per_op[script.Index()];
    script.Advance();
    pacer.AfterExit([&] { return stopping() != nullptr; });
  }

  auto elapsed = std::chrono::nanoseconds(Clock::now() - start);
  if (job.hold) {
    // Out of KVM_RUN: this vCPU's counters no longer move while others read them.
    if (job.holding->fetch_add(1) + 1 == job.total_vcpus && job.on_hold && *job.on_hold) (*job.on_hold)();
    while (!job.stop.stop_requested() && !job.abort->load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  VcpuAccount account = BuildAccount(job, counters, script);
  account.stop_reason = stop_reason;
  account.error = error;
  account.elapsed_ns = static_cast<uint64_t>(elapsed.count());
  return account;
}

}  // namespace exitprof::guest
