#include "ceremony/kek_ceremony.h"

#include <algorithm>
#include <map>

#include "base/files.h"

namespace keyward::ceremony {

nlohmann::json kcv_json(const hierarchy::KeyCheckValue& kcv) {
  nlohmann::json j{{"kw_fingerprint", kcv.kw_fingerprint}};
  if (kcv.check_value) j["check_value"] = *kcv.check_value;
  return j;
}

Result<std::string> write_kek_blob_file(const std::string& dir, const hierarchy::KekCreated& created) {
  const auto& ref = created.info.ref;
  std::string path = dir + "/" + ref.family + "-v" + std::to_string(ref.version) + ".kekblob";
  KW_TRY(cli::write_new_file(path, created.blob.to_json(), 0600));
  return path;
}

nlohmann::json kek_create_record(const hierarchy::KekCreated& created, const std::string& blob_path) {
  const auto& info = created.info;
  return {{"label", info.ref.label()},
          {"kek", info.ref.family},
          {"version", info.ref.version},
          {"kcv", kcv_json(info.kcv)},
          {"root_version", created.blob.root_version},
          {"blob_file", blob_path},
          {"blob", nlohmann::json::parse(created.blob.to_json())},
          {"blob_on_token", info.blob_on_token}};
}

Result<std::vector<KekListing>> list_keks_with_state(hierarchy::KeyHierarchy& hierarchy) {
  KW_ASSIGN_OR_RETURN(auto keks, hierarchy.list_keks());
  std::map<std::string, std::uint32_t> latest;
  for (const auto& k : keks) latest[k.ref.family] = std::max(latest[k.ref.family], k.ref.version);
  std::vector<KekListing> out;
  for (auto& k : keks) {
    const bool active = k.ref.version == latest[k.ref.family];
    out.push_back({std::move(k), active});
  }
  return out;
}

nlohmann::json kek_list_json(const std::vector<KekListing>& keks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : keks)
    out.push_back({{"name", k.info.ref.family}, {"version", k.info.ref.version}, {"label", k.info.ref.label()},
                   {"state", k.active ? "active" : "decrypt-only"}, {"kcv", kcv_json(k.info.kcv)},
                   {"blob_on_token", k.info.blob_on_token}});
  return out;
}

Result<hierarchy::KekBlob> read_kek_blob_file(const std::string& path) {
  KW_ASSIGN_OR_RETURN(auto text, cli::read_small_file(path));
  auto blob = hierarchy::KekBlob::from_json(text);
  if (!blob) return fail(blob.error().with_context(path));
  return blob;
}

nlohmann::json kek_import_record(const hierarchy::KekInfo& imported, const std::string& file, const hierarchy::KekBlob& blob) {
  return {{"label", imported.ref.label()}, {"kcv", kcv_json(imported.kcv)}, {"from_file", file},
          {"root_version", blob.root_version}};
}

}  // namespace keyward::ceremony
