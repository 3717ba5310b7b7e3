// The bounded set of exit reasons serve labels series with: the dozen or so reasons that make
// up almost every exit on each ISA, and "other" for the rest, so the label set is fixed
// whatever a guest does while the sums over reasons stay exact.
#pragma once

#include <string>
#include <string_view>

#include "kvm/reason_table.h"

namespace exitprof::serve {

// `name` (as the reason table prints it) when it is in `isa`'s set, else "other".
std::string BoundedExitReason(kvm::Isa isa, std::string_view name);
// KVM_EXIT_* names this build knows keep their name; unknown numbers are "other".
std::string BoundedUserspaceReason(std::string_view name);

}  // namespace exitprof::serve
