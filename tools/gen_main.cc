// exitprof-gen: writes a synthetic kvm recording (perf.data) with our writer, and its truth.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "recording_gen.h"

int main(int argc, char** argv) {
  CLI::App app{"exitprof-gen: write a synthetic kvm_exit recording (perf.data) and its exact truth"};
  exitprof::gen::GenOptions o;
  std::string out = "synthetic.data", truth_path;
  app.add_option("-o,--output", out, "Output perf.data")->capture_default_str();
  app.add_option("--formats", o.formats_dir, "Directory with header_page, header_event, kvm/<event>")->required();
  app.add_option("--kvm-exit-format", o.kvm_exit_format, "Alternative kvm_exit format file (older kernels)");
  app.add_option("--exits", o.exits, "kvm_exit events to write")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--vms", o.vms, "VMs (1-5)")->capture_default_str();
  app.add_flag("--svm", o.svm, "AMD SVM exit codes instead of Intel VMX");
  app.add_flag("--pipe", o.pipe, "Write pipe mode");
  app.add_option("--lost-every", o.lost_every, "A LOST record (3 events) after every N exits");
  app.add_option("--truth", truth_path, "Write the truth as JSON here");
  app.add_option("--kaslr-offset", o.kaslr_offset, "Move the guest kernel's RIPs by this much (another boot's KASLR)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto truth = exitprof::gen::GenerateRecording(o, out);
  if (!truth) {
    std::fprintf(stderr, "exitprof-gen: %s\n", truth.error().message.c_str());
    return truth.error().exit_code;
  }
  if (!truth_path.empty()) {
    nlohmann::ordered_json j;
    j["samples_by_event"] = truth->samples_by_event;
    j["by_reason"] = truth->by_reason;
    j["lost"] = truth->lost;
    std::ofstream(truth_path) << j.dump(1) << "\n";
  }
  return 0;
}
