// Run(): validates the program, builds the VMs, runs one thread per vCPU and gathers accounts.
#include <fmt/format.h>

#include <atomic>
#include <system_error>
#include <thread>

#include "guest/codegen.h"
#include "guest/kvm_vm.h"
#include "guest/vcpu_loop.h"

namespace exitprof::guest {
namespace {

Result<std::vector<Vm>> CreateVms(const GuestProgram& program, const RunOptions& options) {
  auto kvm = Kvm::Open();
  if (!kvm) return tl::unexpected(kvm.error());
  std::vector<uint8_t> code = GenerateCode(program);
  std::vector<Vm> vms;
  for (int i = 0; i < options.vms; ++i) {
    auto vm = Vm::Create(*kvm, code, options.vcpus_per_vm);
    if (!vm) return Fail(fmt::format("vm {}: {}", i, vm.error().message));
    vms.push_back(std::move(*vm));
  }
  return vms;
}

}  // namespace

Result<std::vector<VcpuAccount>> Run(const GuestProgram& program, const RunOptions& options) {
  auto valid = ValidateProgram(program);
  if (!valid) return tl::unexpected(valid.error());
  if (options.vms < 1 || options.vcpus_per_vm < 1) {
    return Fail(fmt::format("{} VMs x {} vCPUs; expected at least 1 of each", options.vms, options.vcpus_per_vm));
  }
  if (options.duration.count() < 0) return Fail("duration is negative; expected 0 (no limit) or more");

  auto created = CreateVms(program, options);
  if (!created) return tl::unexpected(created.error());
  std::vector<Vm>& vms = *created;

  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (options.duration.count() > 0) deadline = std::chrono::steady_clock::now() + options.duration;
  std::atomic<bool> abort{false};
  std::atomic<int> holding{0};
  const int total_vcpus = options.vms * options.vcpus_per_vm;

  std::vector<VcpuJob> jobs;
  for (size_t v = 0; v < vms.size(); ++v) {
    for (size_t c = 0; c < vms[v].Vcpus().size(); ++c) {
      jobs.push_back(VcpuJob{.vm = static_cast<int>(v), .vcpu = static_cast<int>(c), .kvm_vcpu = &vms[v].Vcpus()[c],
                             .program = &program, .rate = options.rate, .deadline = deadline, .stop = options.stop,
                             .abort = &abort, .vm_stats_fd = vms[v].HasStatsFd(), .hold = options.hold,
                             .holding = &holding, .on_hold = &options.on_hold, .total_vcpus = total_vcpus});
    }
  }

  std::vector<Result<VcpuAccount>> results(jobs.size(), Fail("vCPU thread did not run", 1));
  std::vector<std::thread> threads;
  threads.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    try {
      threads.emplace_back([&, i] {
        results[i] = RunVcpu(jobs[i]);
        if (!results[i] || !results[i]->error.empty()) abort.store(true);
      });
    } catch (const std::system_error& e) {
      results[i] = Fail(fmt::format("vm {} vcpu {}: cannot start thread: {}", jobs[i].vm, jobs[i].vcpu, e.what()), 1);
      abort.store(true);
      break;
    }
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<VcpuAccount> accounts;
  for (auto& result : results) {
    if (!result) return tl::unexpected(result.error());
    accounts.push_back(std::move(*result));
  }
  if (options.hold) {
    for (VcpuAccount& account : accounts) {
      Vm& vm = vms[static_cast<size_t>(account.vm)];
      account.vm_kvm_stats = vm.ReadStats();
      account.kvm_stats = vm.Vcpus()[static_cast<size_t>(account.vcpu)].ReadStats();
    }
  }
  return accounts;
}

std::string FirstVcpuError(const std::vector<VcpuAccount>& accounts) {
  for (const VcpuAccount& account : accounts) {
    if (!account.error.empty()) return account.error;
  }
  return "";
}

}  // namespace exitprof::guest
