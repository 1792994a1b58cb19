// KEK steps of a ceremony: the backup blob file beside the transcript, the listing with each
// version's state, reading a blob file, and the transcript entries of create and import.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "hierarchy/kek_blob.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::ceremony {

// {"kw_fingerprint", "check_value" (when the token gave one)}.
nlohmann::json kcv_json(const hierarchy::KeyCheckValue& kcv);

// Writes the new KEK's blob (its backup: ciphertext under the root) to `<dir>/<family>-v<N>.kekblob`,
// mode 0600, never over an existing file. Returns the path.
Result<std::string> write_kek_blob_file(const std::string& dir, const hierarchy::KekCreated& created);

// The transcript entry of `kek create`: label, family, version, KCV, root version, blob file and blob.
nlohmann::json kek_create_record(const hierarchy::KekCreated& created, const std::string& blob_path);

struct KekListing {
  hierarchy::KekInfo info;
  bool active = false;  // the newest version of its family: new DEKs go under it; older ones only decrypt
};
// Every KEK on the token with its state (from the token alone: the newest version is the active one).
Result<std::vector<KekListing>> list_keks_with_state(hierarchy::KeyHierarchy& hierarchy);
// `kek list --json`: [{"name", "version", "label", "state", "kcv", "blob_on_token"}].
nlohmann::json kek_list_json(const std::vector<KekListing>& keks);

// Reads and parses a .kekblob file; a parse error names the file.
Result<hierarchy::KekBlob> read_kek_blob_file(const std::string& path);

// The transcript entry of `kek import`.
nlohmann::json kek_import_record(const hierarchy::KekInfo& imported, const std::string& file, const hierarchy::KekBlob& blob);

}  // namespace keyward::ceremony
