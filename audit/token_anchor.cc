#include "audit/token_anchor.h"

#include <nlohmann/json.hpp>

#include "audit/audit_key.h"

namespace keyward::audit {
namespace {

std::optional<Head> parse_head(const std::vector<std::uint8_t>& value) {
  auto json = nlohmann::json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  auto seq = json.find("seq");
  auto hash = json.find("hash");
  if (seq == json.end() || !seq->is_number_unsigned() || hash == json.end() || !hash->is_string()) return std::nullopt;
  return Head{seq->get<std::uint64_t>(), hash->get<std::string>()};
}

// The head objects of `log_id`, with their heads (nullopt for a value that does not parse).
Result<std::vector<std::pair<p11::ObjectHandle, std::optional<Head>>>> head_objects(p11::Session& session, std::string_view log_id) {
  p11::AttributeTemplate match;
  match.set_ulong(CKA_CLASS, CKO_DATA).set_string(CKA_LABEL, kHeadLabel).set_string(CKA_APPLICATION, head_application(log_id));
  KW_ASSIGN_OR_RETURN(auto handles, session.find_objects(match));
  std::vector<std::pair<p11::ObjectHandle, std::optional<Head>>> heads;
  for (auto handle : handles) {
    KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(handle, CKA_VALUE));
    heads.emplace_back(handle, value.available ? parse_head(value.bytes) : std::nullopt);
  }
  return heads;
}

}  // namespace

Result<std::shared_ptr<TokenAnchor>> TokenAnchor::open(std::shared_ptr<p11::Connection> connection, bool create_key) {
  {
    // Two processes starting their first audited operation at once must make one signer.
    KW_ASSIGN_OR_RETURN(auto state_lock, connection->token().module()->lock_token_state());
    KW_ASSIGN_OR_RETURN(auto session, connection->open_session());
    KW_ASSIGN_OR_RETURN(bool created, ensure_signer_key(session, create_key));
    (void)created;
  }
  KW_ASSIGN_OR_RETURN(auto pin, connection->copy_user_pin_for_second_library());
  std::shared_ptr<TokenAnchor> anchor(new TokenAnchor());
  KW_ASSIGN_OR_RETURN(anchor->signer_, p11::TokenSigner::open(connection->token(), pin, kSignerLabel));
  anchor->serial_ = connection->token().info().serial;
  anchor->connection_ = std::move(connection);
  return anchor;
}

Result<std::vector<std::uint8_t>> TokenAnchor::sign(std::span<const std::uint8_t> data) { return signer_->sign(data); }

Status TokenAnchor::store_head(std::string_view log_id, const Head& head) {
  KW_ASSIGN_OR_RETURN(auto session, connection_->open_session());
  KW_ASSIGN_OR_RETURN(auto older, head_objects(session, log_id));
  const std::string value = nlohmann::json{{"seq", head.seq}, {"hash", head.hash}}.dump();
  KW_ASSIGN_OR_RETURN(auto created, session.create_object(head_object_template(log_id, value)));
  (void)created;
  // The new head stands before the old ones go: a crash here leaves two, and load_head takes the later.
  for (const auto& [handle, old] : older) {
    if (auto removed = session.destroy_object(handle); !removed)
      return fail(std::move(removed).error().with_context("removing the previous audit head"));
  }
  return {};
}

Result<std::optional<Head>> TokenAnchor::load_head(std::string_view log_id) {
  KW_ASSIGN_OR_RETURN(auto session, connection_->open_session());
  KW_ASSIGN_OR_RETURN(auto heads, head_objects(session, log_id));
  std::optional<Head> latest;
  for (const auto& [handle, head] : heads) {
    if (!head) return make_error(ErrorCategory::corrupt_input, "the token's audit head object of log " + std::string(log_id) + " does not parse");
    if (!latest || head->seq > latest->seq) latest = head;
  }
  return latest;
}

}  // namespace keyward::audit
