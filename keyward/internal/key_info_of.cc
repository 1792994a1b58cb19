#include "keyward/internal/key_info_of.h"

namespace keyward::internal {

KeyInfo key_info_of(const envelope::KeySection& section, const envelope::DekId& dek_id) {
  return KeyInfo{section.kek_family, section.kek_version, envelope::dek_id_hex(dek_id), {}, false};
}

KeyInfo key_info_of(const hierarchy::DekRecord& record, bool under_older_kek_version) {
  return KeyInfo{record.kek_family, record.kek_version, envelope::dek_id_hex(record.dek_id), record.scope,
                 under_older_kek_version};
}

void note_newer_version(hierarchy::KeyHierarchy& hierarchy, KeyInfo& info) {
  auto newest = hierarchy.latest_kek_version(info.kek_family);
  info.under_older_kek_version = newest && *newest > info.kek_version;
}

}  // namespace keyward::internal
