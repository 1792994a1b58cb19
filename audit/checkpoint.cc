#include "audit/checkpoint.h"

#include "audit/record.h"
#include "base/base64.h"
#include "base/public_key.h"

namespace keyward::audit {
namespace {

std::string signed_bytes(nlohmann::json record) {
  record.erase("sig");
  return canonical(record);
}

}  // namespace

std::string public_key_fingerprint(const std::string& public_key_pem) {
  auto key = PublicKey::from_pem(public_key_pem);
  return key ? key->fingerprint() : std::string();
}

Status sign_checkpoint(Anchor& anchor, nlohmann::json& record) {
  record["signer"] = public_key_fingerprint(anchor.public_key_pem());
  const std::string bytes = signed_bytes(record);
  KW_ASSIGN_OR_RETURN(auto signature, anchor.sign({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}));
  record["sig"] = base64_encode(signature);
  return {};
}

bool checkpoint_signature_valid(const nlohmann::json& record, const std::string& public_key_pem) {
  auto sig = record.find("sig");
  if (sig == record.end() || !sig->is_string()) return false;
  auto signature = base64_decode(sig->get_ref<const std::string&>());
  auto key = PublicKey::from_pem(public_key_pem);
  return signature && key && key->verifies(signed_bytes(record), *signature);
}

}  // namespace keyward::audit
