// report --kallsyms/--system-map/--vmlinux: guest RIPs to symbol+offset, file:line and inline
// chains, and exits grouped by guest function (--by sym).
#pragma once

#include <cstddef>

#include "analysis/report_model.h"
#include "base/result.h"
#include "symbols/guest_symbols.h"

namespace exitprof::cli {

// Symbolizes every RIP row of `m` (built with all RIPs), groups them by function into
// m.by_sym, then keeps `top` RIPs per reason (0 = all). Warnings go to stderr once.
Result<void> AddGuestSymbols(analysis::ReportModel& m, const symbols::GuestSymbolOptions& options, size_t top);

}  // namespace exitprof::cli
