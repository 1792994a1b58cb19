// Internal to the public API: KeyInfo from what the layers below know about a DEK.
#pragma once

#include "catalog/catalog.h"
#include "envelope/format.h"
#include "hierarchy/key_hierarchy.h"
#include "keyward/key_info.h"

namespace keyward::internal {

KeyInfo key_info_of(const envelope::KeySection& section, const envelope::DekId& dek_id);
KeyInfo key_info_of(const hierarchy::DekRecord& record, bool under_older_kek_version);

// Sets under_older_kek_version from the token's newest version of the family. Advice only: a token
// that cannot answer leaves it false.
void note_newer_version(hierarchy::KeyHierarchy& hierarchy, KeyInfo& info);

}  // namespace keyward::internal
