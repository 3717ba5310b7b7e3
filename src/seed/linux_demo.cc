#include "seed/linux_demo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "guest/guest.h"
#include "kvmstat/event_counters.h"

namespace exitprof::seed {

Result<bool> KvmExitFires() {
  kvmstat::TracepointOptions options;
  options.pids = {::getpid()};
  options.fields = std::regex("kvm_exit|kvm_pio");
  auto counters = kvmstat::OpenTracepointCounters(options);
  if (!counters) return tl::unexpected(counters.error());
  auto run = guest::Run(guest::DemoProgram(10), guest::RunOptions{});
  if (!run) return Fail("the test guest did not run: " + run.error().message, 1);
  kvmstat::StatTable table;
  if (auto r = (*counters)->Read(table); !r) return tl::unexpected(r.error());
  uint64_t exits = 0, pio = 0;
  for (const auto& m : *table.meta) {
    if (m.name == "kvm_exit") exits = table.values[m.first];
    if (m.name == "kvm_pio") pio = table.values[m.first];
  }
  if (pio == 0) return Fail("kvm_pio did not fire around our test guest: cannot tell whether kvm_exit fires", 1);
  return exits > 0;
}

Result<std::string> FindSeedScript() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("EXITPROF_SEED_SCRIPT"); env && *env) return std::string(env);
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(self.parent_path().parent_path() / "scripts/seed-demo.sh");
#ifdef EXITPROF_SOURCE_TREE
  candidates.push_back(fs::path(EXITPROF_SOURCE_TREE) / "scripts/seed-demo.sh");
#endif
  for (const auto& c : candidates) {
    if (::access(c.c_str(), R_OK) == 0) return c.string();
  }
  return Fail("scripts/seed-demo.sh not found next to this exitprof's build folder nor in its source tree "
              "(set EXITPROF_SEED_SCRIPT to it)", 1);
}

Error RunLinuxDemo(const LinuxDemoOptions& o) {
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    return Error{"/dev/kvm is not usable here (no KVM, or no permission): the Linux guest needs it; "
                 "run the demo in the lab: scripts/kvm-lab.sh -- build/exitprof demo --linux", 1};
  }
  auto fires = KvmExitFires();
  if (!fires) return fires.error();
  if (!*fires) {
    return Error{"this host's KVM does not fire kvm:kvm_exit (a PVM backend, where Debian's kernel does not boot as a "
                 "guest either): run the demo in the lab: scripts/kvm-lab.sh -- build/exitprof demo --linux", 1};
  }
  if (o.check_host) return Error{"", 0};
  auto script = FindSeedScript();
  if (!script) return script.error();
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  std::vector<std::string> args = {"bash", *script, "--blocks", std::to_string(o.blocks), "--bytes",
                                   std::to_string(o.bytes)};
  if (!ec) args.insert(args.end(), {"--exitprof", self});
  if (!o.dir.empty()) args.insert(args.end(), {"--dir", o.dir});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvp("bash", argv.data());
  return Error{"cannot run " + *script + " with bash", 1};
}

}  // namespace exitprof::seed
