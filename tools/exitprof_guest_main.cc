// exitprof-guest: runs a scripted real-mode KVM guest and prints what it did (see src/guest/guest.h).
// Exit status: 0 ok, 1 the guest failed, 2 bad usage.
#include <fmt/format.h>

#include <csignal>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <stop_token>
#include <thread>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>

#include "guest/guest.h"
#include "guest/spec_parse.h"

namespace {

using exitprof::guest::GuestError;
using exitprof::guest::Result;

constexpr std::string_view kUsage = R"(usage: exitprof-guest [OPTIONS]
Runs a real KVM guest (16-bit real mode) whose exits are scripted, then prints its own account.
Each vCPU runs the ops in order, --iterations times, then writes 1 byte to the done port 0x501.

  --pio PORT:SIZE:r|w[:VALUE]   port in/out (repeatable); SIZE 1, 2 or 4
  --mmio GPA:SIZE:r|w[:VALUE]   MMIO read/write (repeatable); GPA in [0x10000, 0x100000), aligned
  --hlt                         a HLT (repeatable)
  --iterations N                loop count, 0..4294967295 (default 1000)
  --vcpus N                     vCPUs per VM, threads named "CPU N/KVM" (default 1, max 256)
  --vms N                       VMs, each its own KVM_CREATE_VM (default 1, max 64)
  --rate N                      approximate userspace exits/s per vCPU (default 0 = unpaced)
  --duration-ms N               stop after N ms even if not done (default 0 = no limit)
  --json FILE                   write the account as JSON to FILE ('-' = stdout)
  --hold                        after the work, keep the VMs (vCPUs out of KVM_RUN, counters still)
                                until SIGTERM or SIGINT; says "holding" on stderr, and the JSON
                                account adds what the KVM stats fds say ("kvm_stats")
VALUE is written by writes and answered to reads (default 0x5a repeated). Numbers: decimal or 0x hex.
Without ops: a demo mix (0x3f8 writes, 0x70 write + 0x71 read, MMIO write + read at 0xd0000, HLT).
)";

struct Flags {
  exitprof::guest::GuestProgram program{.ops = {}, .iterations = 1000};
  exitprof::guest::RunOptions options;
  std::string json_path;
};

// A numeric flag value within [min, max], or an error naming the flag.
Result<uint64_t> NumberFlag(std::string_view flag, std::string_view text, uint64_t min, uint64_t max) {
  auto number = exitprof::guest::ParseNumber(text);
  if (std::holds_alternative<GuestError>(number) || std::get<uint64_t>(number) < min ||
      std::get<uint64_t>(number) > max) {
    return GuestError{fmt::format("{}: expected a number from {} to {}, got '{}'", flag, min, max, text)};
  }
  return number;
}

// Applies one flag that takes a value; returns an error naming the flag.
std::optional<GuestError> ApplyValueFlag(Flags& flags, std::string_view flag, std::string_view value) {
  auto number_into = [&](auto& target, uint64_t min, uint64_t max) -> std::optional<GuestError> {
    auto n = NumberFlag(flag, value, min, max);
    if (auto* error = std::get_if<GuestError>(&n)) return *error;
    target = static_cast<std::remove_reference_t<decltype(target)>>(std::get<uint64_t>(n));
    return std::nullopt;
  };
  if (flag == "--pio" || flag == "--mmio") {
    auto op = flag == "--pio" ? exitprof::guest::ParsePioSpec(value) : exitprof::guest::ParseMmioSpec(value);
    if (auto* error = std::get_if<GuestError>(&op)) return GuestError{fmt::format("{}: {}", flag, error->message)};
    auto valid = exitprof::guest::ValidateOp(std::get<exitprof::guest::Op>(op));
    if (auto* error = std::get_if<GuestError>(&valid)) {
      return GuestError{fmt::format("{} {}: {}", flag, value, error->message)};
    }
    flags.program.ops.push_back(std::get<exitprof::guest::Op>(op));
    return std::nullopt;
  }
  if (flag == "--iterations") return number_into(flags.program.iterations, 0, UINT32_MAX);
  if (flag == "--vcpus") return number_into(flags.options.vcpus_per_vm, 1, 256);
  if (flag == "--vms") return number_into(flags.options.vms, 1, 64);
  if (flag == "--rate") return number_into(flags.options.rate, 0, UINT64_MAX);
  if (flag == "--duration-ms") {
    uint64_t ms = 0;
    auto error = number_into(ms, 0, 86'400'000);
    flags.options.duration = std::chrono::milliseconds(ms);
    return error;
  }
  if (flag == "--json") {
    if (value.empty()) return GuestError{"--json: expected a file name or '-'"};
    flags.json_path = value;
    return std::nullopt;
  }
  return GuestError{fmt::format("{}: unknown flag; see --help", flag)};
}

// Parses argv; returns nullopt after printing --help.
Result<std::optional<Flags>> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::optional<Flags>();
    if (arg == "--hold") {
      flags.options.hold = true;
      continue;
    }
    if (arg == "--hlt") {
      flags.program.ops.push_back(exitprof::guest::Op::Hlt());
      continue;
    }
    std::string_view flag = arg;
    std::string_view value;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (arg.starts_with("--") && i + 1 < argc) {
      value = argv[++i];
    } else {
      return GuestError{fmt::format("{}: {}", arg, arg.starts_with("--") ? "expected a value" : "unexpected argument; see --help")};
    }
    if (auto error = ApplyValueFlag(flags, flag, value)) return *error;
  }
  if (flags.program.ops.empty()) flags.program.ops = exitprof::guest::DemoProgram(0).ops;
  return std::optional<Flags>(std::move(flags));
}

void PrintSummary(std::FILE* out, const std::vector<exitprof::guest::VcpuAccount>& accounts) {
  for (const auto& a : accounts) {
    std::string exits;
    for (const auto& [name, count] : a.userspace_exits) exits += fmt::format(" {}={}", name, count);
    fmt::print(out, "vm {} vcpu {} tid {}: {} iterations, stop: {}, {:.3f} ms, userspace exits:{}\n", a.vm, a.vcpu,
               a.tid, a.iterations, a.stop_reason, static_cast<double>(a.elapsed_ns) / 1e6, exits);
  }
}

// Returns an error text, or an empty string on success.
std::string WriteFile(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "we");
  if (file == nullptr) return std::strerror(errno);
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  int error = errno;
  if (std::fclose(file) != 0 || !ok) return std::strerror(ok ? errno : error);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = ParseFlags(argc, argv);
  if (auto* error = std::get_if<GuestError>(&parsed)) {
    fmt::print(stderr, "exitprof-guest: {}\n", error->message);
    return 2;
  }
  auto& maybe_flags = std::get<std::optional<Flags>>(parsed);
  if (!maybe_flags) {
    fmt::print("{}", kUsage);
    return 0;
  }
  Flags& flags = *maybe_flags;
  auto valid = exitprof::guest::ValidateProgram(flags.program);
  if (auto* error = std::get_if<GuestError>(&valid)) {
    fmt::print(stderr, "exitprof-guest: {}\n", error->message);
    return 2;
  }

  // --hold: SIGTERM/SIGINT end the hold. Blocked here (every thread inherits the mask) and taken
  // by one waiting thread, which asks the vCPUs to stop.
  std::stop_source stop;
  std::optional<std::jthread> signal_waiter;
  if (flags.options.hold) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    flags.options.stop = stop.get_token();
    flags.options.on_hold = [] { fmt::print(stderr, "exitprof-guest: holding, pid {}; SIGTERM to finish\n", ::getpid()); };
    signal_waiter.emplace([set, &stop] {
      int sig = 0;
      sigwait(&set, &sig);
      stop.request_stop();
    });
  }
  auto result = exitprof::guest::Run(flags.program, flags.options);
  if (signal_waiter) {
    if (!stop.stop_requested()) ::kill(::getpid(), SIGTERM);  // Run ended early: release the waiter
    signal_waiter->join();
  }
  if (auto* error = std::get_if<GuestError>(&result)) {
    fmt::print(stderr, "exitprof-guest: {}\n", error->message);
    return 1;
  }
  const auto& accounts = std::get<std::vector<exitprof::guest::VcpuAccount>>(result);
  PrintSummary(flags.json_path == "-" ? stderr : stdout, accounts);
  if (!flags.json_path.empty()) {
    std::string json = exitprof::guest::AccountToJson(accounts) + "\n";
    if (flags.json_path == "-") {
      fmt::print("{}", json);
    } else if (std::string error = WriteFile(flags.json_path, json); !error.empty()) {
      fmt::print(stderr, "exitprof-guest: cannot write {}: {}\n", flags.json_path, error);
      return 1;
    }
  }
  // KVM stopped a vCPU: the account above says so too (stop_reason, error); the run failed.
  if (std::string error = exitprof::guest::FirstVcpuError(accounts); !error.empty()) {
    fmt::print(stderr, "exitprof-guest: {}\n", error);
    return 1;
  }
  return 0;
}
