// `exitprof demo`: the main job with nothing of the user's. Starts real KVM guests of our own,
// records their kvm events live (in-process, no perf needed), reports them, and checks the
// report against what the guests say they did.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "capture/capture_loop.h"
#include "capture/recorder.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "guest/guest.h"
#include "render/report_render.h"
#include "report/pipeline.h"
#include "seed/linux_demo.h"

namespace exitprof::cli {

namespace {

struct Expected {
  std::map<std::string, uint64_t> userspace_exits;
  uint64_t port_accesses = 0, mmio_accesses = 0;
};

Expected Sum(const std::vector<guest::VcpuAccount>& accounts) {
  Expected e;
  for (const auto& a : accounts) {
    for (const auto& [k, n] : a.userspace_exits) e.userspace_exits[k] += n;
    for (const auto& [k, n] : a.pio) e.port_accesses += n;
    for (const auto& [k, n] : a.mmio) e.mmio_accesses += n;
    e.port_accesses += a.done;
  }
  return e;
}

}  // namespace

namespace {
// The synthetic recording shipped in data/: beside the build tree's binary, or installed.
std::string BundledDemoRecording() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const char* relative : {"../data/demo-vmx.perf.data", "../share/exitprof/demo-vmx.perf.data"}) {
    if (ec) break;
    auto candidate = (exe.parent_path() / relative).lexically_normal();
    if (std::filesystem::exists(candidate, ec)) return candidate.string();
  }
  return "data/demo-vmx.perf.data (in exitprof's source tree)";
}
}  // namespace

std::function<int()> AddDemoCommand(CLI::App& app) {
  struct Options {
    uint64_t iterations = 20000;
    int vcpus = 2, vms = 1;
    std::string output;
    bool linux_guest = false;
    seed::LinuxDemoOptions seed;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("demo", "Run built-in KVM guests, record them live and report why they exit");
  cmd->add_option("--iterations", o->iterations, "Loop iterations per vCPU (each: 4 port IO, 2 MMIO, 1 HLT)")->capture_default_str()->check(Positive());
  cmd->add_option("--vcpus", o->vcpus, "vCPUs per VM")->capture_default_str()->check(Between(1, 64));
  cmd->add_option("--vms", o->vms, "VMs")->capture_default_str()->check(Between(1, 16));
  cmd->add_option("-o,--output", o->output, "Keep the recording here (perf.data format)");
  cmd->add_flag("--linux", o->linux_guest,
                "A real Linux guest instead (Debian's cloud kernel, virtio-blk, virtio-rng): record, stat and report it "
                "from the host, probe it from inside (needs a KVM where kvm_exit fires, or the lab)");
  cmd->add_option("--blocks", o->seed.blocks, "With --linux: 4 KiB O_DIRECT reads the guest does from virtio-blk")
      ->capture_default_str()->check(CLI::Range(1, 16384));
  cmd->add_option("--bytes", o->seed.bytes, "With --linux: bytes the guest draws from virtio-rng")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--dir", o->seed.dir, "With --linux: keep the recording, reports and the guest's output here");
  cmd->add_flag("--check-host", o->seed.check_host,
                "With --linux: only check that this host can run it (exit 0) or say why not and where to run it (exit 1)");
  cmd->footer(
      "\nExamples:\n  sudo exitprof demo --vcpus 2 --vms 2\n  sudo exitprof demo --linux --blocks 200 --bytes 4096\n"
      "  scripts/kvm-lab.sh -- build/exitprof demo --linux     (where this host's KVM does not fire kvm_exit)\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->linux_guest) {
      Error e = seed::RunLinuxDemo(o->seed);
      return e.exit_code == 0 ? 0 : ReportError(e);
    }
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
      return ReportError(Error{"/dev/kvm is not usable here (no KVM, or no permission): the demo runs real guests; "
                               "without KVM, read the bundled synthetic recording instead: exitprof report -i " +
                                   BundledDemoRecording(),
                               1});
    }
    const std::string path = o->output.empty() ? "/tmp/exitprof-demo-" + std::to_string(::getpid()) + ".data" : o->output;
    capture::RecordOptions options;
    options.pids = {::getpid()};  // our own guest threads, inherited
    options.cmdline = {"exitprof", "demo"};
    auto recorder = capture::Recorder::Open(options, false);
    if (!recorder) return ReportError(recorder.error());
    auto writer = perfdata::Writer::Create(path, (*recorder)->header(), false);
    if (!writer) return ReportError(writer.error());
    if (auto r = (*recorder)->WritePreamble(*writer); !r) return ReportError(r.error());
    if (auto r = (*recorder)->Enable(); !r) return ReportError(r.error());

    guest::RunOptions run;
    run.vms = o->vms;
    run.vcpus_per_vm = o->vcpus;
    Result<std::vector<guest::VcpuAccount>> result = Fail("not run", 1);
    std::atomic<bool> done{false};
    std::thread guests([&] {
      result = guest::Run(guest::DemoProgram(o->iterations), run);
      done = true;
    });
    capture::InstallStopSignals();
    auto loop = capture::RunCaptureLoop(**recorder, *writer, [&] { return done.load(); });
    guests.join();
    if (!loop) return ReportError(loop.error());
    if (!result) return ReportError(Error{"guest: " + result.error().message, 1});
    const auto& accounts = *result;
    if (std::string error = guest::FirstVcpuError(accounts); !error.empty()) return ReportError(Error{"guest: " + error, 1});

    report::Options pipeline;
    pipeline.input.path = path;
    auto built = report::Run(pipeline);
    if (!built) return ReportError(built.error());
    PrintWarnings(built->model.warnings);
    const analysis::ReportModel* model = &built->model;
    std::string text = render::RenderText(*model, {});
    std::fwrite(text.data(), 1, text.size(), stdout);

    // The check: what was recorded equals what the guests did.
    Expected want = Sum(accounts);
    std::printf("# Check against the guests' own accounts (%d VM(s) x %d vCPU(s), %llu iterations each)\n#\n",
                o->vms, o->vcpus, static_cast<unsigned long long>(o->iterations));
    bool all_equal = true;
    auto line = [&](const std::string& what, uint64_t guest_count, uint64_t seen) {
      bool ok = guest_count == seen;
      all_equal &= ok;
      std::printf("  %-28s guest %10llu   recorded %10llu   %s\n", what.c_str(), static_cast<unsigned long long>(guest_count),
                  static_cast<unsigned long long>(seen), ok ? "equal" : "DIFFERENT");
    };
    std::map<std::string, uint64_t> seen_uexits;
    for (const auto& r : model->userspace_exits) seen_uexits[r.name] = r.count;
    for (const auto& [reason, n] : want.userspace_exits) line(reason, n, seen_uexits[reason]);
    uint64_t pio = 0, mmio = 0;
    for (const auto& r : model->pio) pio += r.count;
    for (const auto& r : model->mmio) if (r.type != "unsatisfied-read") mmio += r.count;
    line("port accesses (kvm_pio)", want.port_accesses, pio);
    line("MMIO accesses (kvm_mmio)", want.mmio_accesses, mmio);
    std::printf(
        "#\n# What this shows: each vCPU ran a loop of two writes to port 0x3f8 (COM1 data), a write to\n"
        "# 0x70 and a read of 0x71 (CMOS RTC index, data), one MMIO write (0xd0000), one MMIO read\n"
        "# (0xd0004) and one HLT. Every one of them left the guest: no in-kernel device claims those\n"
        "# ports or addresses, so KVM hands each to the VMM (KVM_EXIT_IO, KVM_EXIT_MMIO), and this VMM\n"
        "# has no in-kernel interrupt controller, so HLT exits to it too (KVM_EXIT_HLT). kvm_mmio shows a\n"
        "# read twice: 'unsatisfied-read' when it exits, 'read' with the value once the VMM answered.\n"
        "# In a real VM these are the costs to remove: ioeventfd/vhost for device notifications, an\n"
        "# in-kernel APIC and halt polling for HLT.\n");
    std::printf("#\n# recording: %s (read it with: exitprof report -i %s, or perf script -i %s)\n", path.c_str(), path.c_str(), path.c_str());
    WarnIfKvmExitSilent((*recorder)->counts());
    if ((*recorder)->counts().lost) {
      std::fprintf(stderr, "exitprof demo: %llu events lost\n", static_cast<unsigned long long>((*recorder)->counts().lost));
    }
    return all_equal ? 0 : 1;
  };
}

}  // namespace exitprof::cli
