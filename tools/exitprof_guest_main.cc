// exitprof-guest: runs a scripted real-mode KVM guest and prints what it did (see src/guest/guest.h).
// Exit status: 0 ok, 1 the guest failed, 2 bad usage.
#include <CLI/CLI.hpp>
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

#include "guest/guest.h"
#include "guest/spec_parse.h"

namespace {

using exitprof::Error;
using exitprof::Fail;
using exitprof::Result;

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
  if (!number || *number < min || *number > max) {
    return Fail(fmt::format("{}: expected a number from {} to {}, got '{}'", flag, min, max, text));
  }
  return number;
}

// One --pio or --mmio value, checked as an op.
Result<exitprof::guest::Op> OpFlag(std::string_view flag, std::string_view value) {
  auto op = flag == "--pio" ? exitprof::guest::ParsePioSpec(value) : exitprof::guest::ParseMmioSpec(value);
  if (!op) return Fail(fmt::format("{}: {}", flag, op.error().message));
  if (auto valid = exitprof::guest::ValidateOp(*op); !valid) {
    return Fail(fmt::format("{} {}: {}", flag, value, valid.error().message));
  }
  return op;
}

// Parses argv with CLI11; nullopt after --help. The ops (--pio, --mmio, --hlt) run in the order
// given, so they are taken from CLI11's parse order rather than option by option.
Result<std::optional<Flags>> ParseFlags(int argc, char** argv) {
  CLI::App app{"", "exitprof-guest"};
  app.set_help_flag();
  bool help = false;
  app.add_flag("-h,--help", help);
  auto* pio = app.add_option("--pio")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* mmio = app.add_option("--mmio")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* hlt = app.add_flag("--hlt")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  Flags flags;
  app.add_flag("--hold", flags.options.hold);
  struct Number {
    const char* flag;
    uint64_t min, max;
    std::function<void(uint64_t)> set;
    std::string text;
  };
  std::vector<Number> numbers = {
      {"--iterations", 0, UINT32_MAX, [&](uint64_t n) { flags.program.iterations = static_cast<uint32_t>(n); }, {}},
      {"--vcpus", 1, 256, [&](uint64_t n) { flags.options.vcpus_per_vm = static_cast<int>(n); }, {}},
      {"--vms", 1, 64, [&](uint64_t n) { flags.options.vms = static_cast<int>(n); }, {}},
      {"--rate", 0, UINT64_MAX, [&](uint64_t n) { flags.options.rate = n; }, {}},
      {"--duration-ms", 0, 86'400'000, [&](uint64_t n) { flags.options.duration = std::chrono::milliseconds(n); }, {}},
  };
  for (Number& n : numbers) app.add_option(n.flag, n.text)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* json = app.add_option("--json", flags.json_path)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return Fail(fmt::format("{} (exitprof-guest --help)", e.what()));
  }
  if (help) return std::optional<Flags>();

  std::map<const CLI::Option*, size_t> taken;
  for (const CLI::Option* option : app.parse_order()) {
    if (option == hlt) {
      flags.program.ops.push_back(exitprof::guest::Op::Hlt());
    } else if (option == pio || option == mmio) {
      auto op = OpFlag(option->get_name(), option->results().at(taken[option]++));
      if (!op) return tl::unexpected(op.error());
      flags.program.ops.push_back(*op);
    }
  }
  for (const Number& n : numbers) {
    if (app.count(n.flag) == 0) continue;
    auto value = NumberFlag(n.flag, n.text, n.min, n.max);
    if (!value) return tl::unexpected(value.error());
    n.set(*value);
  }
  if (json->count() > 0 && flags.json_path.empty()) return Fail("--json: expected a file name or '-'");
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
  if (!parsed) {
    fmt::print(stderr, "exitprof-guest: {}\n", parsed.error().message);
    return 2;
  }
  auto& maybe_flags = *parsed;
  if (!maybe_flags) {
    fmt::print("{}", kUsage);
    return 0;
  }
  Flags& flags = *maybe_flags;
  auto valid = exitprof::guest::ValidateProgram(flags.program);
  if (!valid) {
    fmt::print(stderr, "exitprof-guest: {}\n", valid.error().message);
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
  if (!result) {
    fmt::print(stderr, "exitprof-guest: {}\n", result.error().message);
    return 1;
  }
  const auto& accounts = *result;
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
