#include "ceremony/backup_share.h"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <set>

#include "envelope/passphrase_seal.h"
#include "hierarchy/kek_blob.h"
#include "base/json_fields.h"

namespace keyward::ceremony {
namespace {

constexpr std::string_view kFormat = "keyward-root-share/v1";

std::string sha256_hex_prefix(std::string_view text, std::size_t hex_chars) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return hierarchy::to_hex(std::span<const std::uint8_t>(digest, length)).substr(0, hex_chars);
}

nlohmann::json metadata_json(const ShareMetadata& m) {
  return {{"format", kFormat},     {"root_version", m.root_version}, {"index", m.index},
          {"threshold", m.threshold}, {"total", m.total},           {"set_id", m.set_id},
          {"root_kcv", m.root_kcv}};
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

Error corrupt(const std::string& source, const std::string& what) {
  return Error{ErrorCategory::corrupt_input, "share file " + source + ": " + what, std::nullopt};
}

}  // namespace

std::string new_share_set_id() {
  std::vector<std::uint8_t> id(16);
  RAND_bytes(id.data(), 16);
  return hierarchy::to_hex(id);
}

Result<std::string> encode_share_file(const ShareMetadata& metadata, const Share& share, const SecretBytes* passphrase) {
  nlohmann::json j = metadata_json(metadata);
  if (passphrase) {
    const std::string associated = metadata_json(metadata).dump();
    KW_ASSIGN_OR_RETURN(auto sealed, envelope::seal_with_passphrase(share.value, *passphrase, bytes_of(associated)));
    j["sealed"] = {{"kdf", "scrypt"},          {"n", sealed.scrypt_n},   {"r", sealed.scrypt_r},
                   {"p", sealed.scrypt_p},     {"salt", hierarchy::to_hex(sealed.salt)}, {"cipher", "AES-256-GCM"},
                   {"nonce", hierarchy::to_hex(sealed.nonce)}, {"ciphertext", hierarchy::to_hex(sealed.ciphertext)}};
  } else {
    j["share"] = hierarchy::to_hex(share.value.reveal());
  }
  j["checksum"] = sha256_hex_prefix(j.dump(), 16);
  std::string text = j.dump(2) + "\n";
  if (!passphrase) {
    // The json object held the share in hex: clear its copy (the returned text is written and cleared by the caller).
    auto& hex = j["share"].get_ref<std::string&>();
    OPENSSL_cleanse(hex.data(), hex.size());
  }
  return text;
}

Result<ShareFile> decode_share_file(std::string_view text, const std::string& source, const PassphraseProvider& passphrase) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(corrupt(source, "not JSON — the file is damaged or not a share"));
  if (hierarchy::string_field(j, "format") != kFormat) return fail(corrupt(source, "not a keyward root share (format " + std::string(kFormat) + ")"));
  const std::string checksum = hierarchy::string_field(j, "checksum");
  nlohmann::json without = j;
  without.erase("checksum");
  if (checksum.empty() || sha256_hex_prefix(without.dump(), 16) != checksum)
    return fail(corrupt(source, "checksum mismatch — the file is corrupted"));
  ShareFile file;
  file.source = source;
  try {
    auto& m = file.metadata;
    // Exactly the numbers in the file: they are the sealed share's associated data, so a value
    // converted on the way in (index 258 read as 2) would open under the metadata it was sealed with.
    const auto root_version = hierarchy::unsigned_field_at_most(j, "root_version", UINT32_MAX);
    const auto index = hierarchy::unsigned_field_at_most(j, "index", UINT8_MAX);
    const auto threshold = hierarchy::unsigned_field_at_most(j, "threshold", UINT8_MAX);
    const auto total = hierarchy::unsigned_field_at_most(j, "total", UINT8_MAX);
    if (!root_version || !index || !threshold || !total)
      return fail(corrupt(source, "root_version, index, threshold or total is not an unsigned integer in range"));
    m.root_version = static_cast<std::uint32_t>(*root_version);
    m.index = static_cast<std::uint8_t>(*index);
    m.threshold = static_cast<std::uint8_t>(*threshold);
    m.total = static_cast<std::uint8_t>(*total);
    m.set_id = j.at("set_id").get<std::string>();
    m.root_kcv = j.at("root_kcv").get<std::string>();
    file.share.index = m.index;
    if (j.contains("sealed")) {
      const auto& s = j.at("sealed");
      envelope::PassphraseSealed sealed;
      KW_ASSIGN_OR_RETURN(sealed.salt, hierarchy::from_hex(s.at("salt").get<std::string>()));
      KW_ASSIGN_OR_RETURN(sealed.nonce, hierarchy::from_hex(s.at("nonce").get<std::string>()));
      KW_ASSIGN_OR_RETURN(sealed.ciphertext, hierarchy::from_hex(s.at("ciphertext").get<std::string>()));
      const auto n = hierarchy::unsigned_field_at_most(s, "n", UINT64_MAX);
      const auto r = hierarchy::unsigned_field_at_most(s, "r", UINT32_MAX);
      const auto p = hierarchy::unsigned_field_at_most(s, "p", UINT32_MAX);
      if (!n || !r || !p) return fail(corrupt(source, "the scrypt parameters are not unsigned integers in range"));
      sealed.scrypt_n = *n;
      sealed.scrypt_r = static_cast<std::uint32_t>(*r);
      sealed.scrypt_p = static_cast<std::uint32_t>(*p);
      if (!passphrase) return make_error(ErrorCategory::usage, "share file " + source + " is sealed: a passphrase is needed");
      KW_ASSIGN_OR_RETURN(auto secret, passphrase(source));
      auto opened = envelope::open_with_passphrase(sealed, secret, bytes_of(metadata_json(m).dump()));
      if (!opened) return fail(std::move(opened).error().with_context("share file " + source));
      file.share.value = std::move(*opened);
    } else {
      auto& hex = j.at("share").get_ref<std::string&>();
      KW_ASSIGN_OR_RETURN(auto raw, hierarchy::from_hex(hex));
      file.share.value = SecretBytes::copy_of(raw);
      OPENSSL_cleanse(raw.data(), raw.size());
      OPENSSL_cleanse(hex.data(), hex.size());
    }
  } catch (const nlohmann::json::exception&) {
    return fail(corrupt(source, "a field is missing or has the wrong type"));
  }
  const auto& m = file.metadata;
  if (m.index == 0 || m.threshold < 2 || m.threshold > m.total || m.index > m.total || m.root_version == 0)
    return fail(corrupt(source, "index, threshold or total out of range"));
  if (file.share.value.size() != 32) return fail(corrupt(source, "the share is not 32 bytes"));
  return file;
}

Result<SecretBytes> recombine_share_files(const std::vector<ShareFile>& files) {
  if (files.empty()) return make_error(ErrorCategory::usage, "no share files given");
  const auto& first = files.front().metadata;
  std::set<std::uint8_t> indices;
  std::vector<const Share*> shares;
  for (const auto& file : files) {
    const auto& m = file.metadata;
    if (m.set_id != first.set_id || m.root_version != first.root_version || m.root_kcv != first.root_kcv)
      return make_error(ErrorCategory::usage, "share file " + file.source + " belongs to another backup (set " + m.set_id +
                                                  ", root v" + std::to_string(m.root_version) + ") than " +
                                                  files.front().source + " (set " + first.set_id + ")");
    if (m.threshold != first.threshold || m.total != first.total)
      return make_error(ErrorCategory::corrupt_input, "share file " + file.source + " disagrees on threshold or total");
    if (!indices.insert(m.index).second)
      return make_error(ErrorCategory::usage, "share " + std::to_string(m.index) + " is given twice (" + file.source + ")");
    shares.push_back(&file.share);
  }
  if (shares.size() < first.threshold)
    return make_error(ErrorCategory::usage, "only " + std::to_string(shares.size()) + " share(s) given; this backup needs " +
                                                std::to_string(first.threshold) + " of " + std::to_string(first.total));
  return combine_shares(shares);
}

}  // namespace keyward::ceremony
