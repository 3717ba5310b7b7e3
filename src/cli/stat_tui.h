// `exitprof stat`'s interactive mode (ncurses): kvm_stat's table and keys.
#pragma once

#include "cli/stat_view.h"
#include "kvm/stat_sampler.h"

namespace exitprof::cli {

// Runs until 'q' or Ctrl-C; returns the exit status.
int RunStatTui(kvm::StatSampler& sampler, StatHistory& history, StatViewOptions options, double delay);

}  // namespace exitprof::cli
