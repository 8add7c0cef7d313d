// Damage aimed at PST/OST structures, found from the header by the offsets
// [MS-PST] 2.2.2.5-2.2.2.7 gives (and libpff's format document for 4 KiB
// pages), never through the parser under test.
#pragma once

#include <string_view>

#include "tests/damage/damage.h"
#include "tests/damage/rng.h"

namespace mailfsck::damage {

// Applies request.op (one of the pst_ ops) once; no injection when the
// input is no PST or lacks the structure.
void damage_pst(std::string_view clean, const Request& request, Rng& rng, Damaged& d);

}  // namespace mailfsck::damage
