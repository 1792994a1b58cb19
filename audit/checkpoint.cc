#include "audit/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <vector>

#include "audit/record.h"

namespace keyward::audit {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr load_public_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  return PkeyPtr(key);
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<std::uint8_t>> unbase64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(text.size());
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string signed_bytes(nlohmann::json record) {
  record.erase("sig");
  return canonical(record);
}

}  // namespace

std::string public_key_fingerprint(const std::string& public_key_pem) {
  PkeyPtr key = load_public_key(public_key_pem);
  if (!key) return {};
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key.get(), &der);
  if (length <= 0) return {};
  std::string fingerprint = record_hash(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(length)));
  OPENSSL_free(der);
  return fingerprint;
}

Status sign_checkpoint(Anchor& anchor, nlohmann::json& record) {
  record["signer"] = public_key_fingerprint(anchor.public_key_pem());
  const std::string bytes = signed_bytes(record);
  KW_ASSIGN_OR_RETURN(auto signature, anchor.sign({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}));
  record["sig"] = base64(signature);
  return {};
}

bool checkpoint_signature_valid(const nlohmann::json& record, const std::string& public_key_pem) {
  auto sig = record.find("sig");
  if (sig == record.end() || !sig->is_string()) return false;
  auto signature = unbase64(sig->get<std::string>());
  PkeyPtr key = load_public_key(public_key_pem);
  if (!signature || !key) return false;
  const std::string message = signed_bytes(record);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, signature->data(), signature->size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace keyward::audit
