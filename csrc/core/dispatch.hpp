// Which ISA level's kernels run. Chosen once at first use (the best level that is both
// compiled in and supported by the CPU); the Python layer applies DIVKERN_ISA at import
// and tests switch levels in-process with set_active_isa.
#pragma once

#include "core/cpu.hpp"

namespace divkern {

bool isa_compiled(Isa isa);
Isa best_isa();
Isa active_isa();
// Throws std::invalid_argument when the level is not compiled into this build, and
// std::runtime_error when this CPU cannot run it.
void set_active_isa(Isa isa);

}  // namespace divkern
