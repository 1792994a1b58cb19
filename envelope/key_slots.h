// Replacing an envelope's key section in place, crash-safely (docs/FORMAT.md, "Key area").
//
// The new key section is written into the inactive slot and fsynced; then the one switch byte is
// flipped and fsynced. A crash before the flip leaves the old slot active and intact; after it, the
// new slot is complete. Only the key area is read or written: the cost does not depend on the body.
#pragma once

#include <string>

#include "envelope/format.h"
#include "base/error.h"

namespace keyward::envelope {

// The header and active key section of the envelope at `path`.
Result<ParsedPrefix> read_envelope_prefix(const std::string& path);

// Makes `section` the envelope's active key section. `expected_current`, when given, must equal the
// active section (so two rotations racing on one file cannot both win).
Status replace_key_section_in_place(const std::string& path, const KeySection& section,
                                    const KeySection* expected_current = nullptr);

// Test hook for crash safety: performs only the first step (new section into the inactive slot,
// fsync), as if the process died before the switch byte was flipped.
Status write_inactive_slot_only(const std::string& path, const KeySection& section);

}  // namespace keyward::envelope
