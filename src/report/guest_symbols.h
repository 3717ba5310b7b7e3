// Guest symbols in the report model (--kallsyms/--system-map/--vmlinux): guest RIPs to
// symbol+offset, file:line and inline chains, and exits grouped by guest function (--by sym).
#pragma once

#include <cstddef>

#include "analysis/report_model.h"
#include "base/result.h"
#include "symbols/guest_symbols.h"

namespace exitprof::report {

// Symbolizes every RIP row of `m` (built with all RIPs), groups them by function into
// m.by_sym, then keeps `top` RIPs per reason (0 = all). The symbols' warnings go to m.warnings.
Result<void> AddGuestSymbols(analysis::ReportModel& m, const symbols::GuestSymbolOptions& options, size_t top);

}  // namespace exitprof::report
