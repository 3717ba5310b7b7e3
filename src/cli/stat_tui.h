// `exitprof stat`'s interactive mode (ncurses): kvm_stat's table and keys.
#pragma once

#include <functional>
#include <vector>

#include "analysis/stat_view.h"
#include "kvmstat/stat_sampler.h"

namespace exitprof::cli {

// Runs until 'q' or Ctrl-C; returns the exit status.
// `sample` takes a fresh sample (rescanning for VMs).
int RunStatTui(const std::function<std::vector<kvmstat::VmSnapshot>()>& sample, analysis::StatHistory& history,
               analysis::StatViewOptions options, double delay);

}  // namespace exitprof::cli
