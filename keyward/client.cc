// Client: opening (token, options) and what is not an envelope or a field.
#include "keyward/client.h"

#include <cstdlib>

#include "audit/process_log.h"
#include "envelope/format.h"
#include "hierarchy/open_hierarchy.h"
#include "hierarchy/token_set.h"
#include "keyward/internal/api_guard.h"
#include "keyward/internal/client_core.h"
#include "keyward/internal/client_locations.h"

namespace keyward {
namespace {

Status check_options(const ClientOptions& options) {
  if (options.crypto_threads < 1 || options.crypto_threads > 64)
    return make_error(ErrorCategory::usage, "crypto_threads must be 1 to 64");
  if (options.segment_size < envelope::kMinSegmentSize || options.segment_size > envelope::kMaxSegmentSize)
    return make_error(ErrorCategory::usage, "segment_size must be 4 KiB to 16 MiB");
  if (options.max_sessions < 1) return make_error(ErrorCategory::usage, "max_sessions must be at least 1");
  return {};
}

}  // namespace

Result<Client> Client::open(const ClientOptions& options) {
  return internal::guarded([&]() -> Result<Client> {
    KW_TRY(check_options(options));
    KW_ASSIGN_OR_RETURN(auto uris, internal::choose_token_uris(options));
    KW_ASSIGN_OR_RETURN(auto catalog, internal::choose_catalog(options));
    const std::string audit_log = audit::choose_audit_log(options.audit_log, "");
    const bool audited = !options.audit_log.empty() || std::getenv("KEYWARD_AUDIT") != nullptr;
    auto token = hierarchy::open_tokens(
        uris, hierarchy::TokenSetOptions{.open = {
                  .allow_pin_prompt = options.allow_pin_prompt,
                  .max_sessions = options.max_sessions,
                  .hierarchy = {.accept_module_limits = options.accept_module_limits}}});
    if (!token && audited && token.error().category == ErrorCategory::token) {
      std::string tokens;
      for (const auto& uri : uris) tokens += (tokens.empty() ? "" : " ") + uri.redacted();
      KW_TRY(audit::record_failed_login(audit_log, tokens, token.error()));
    }
    if (!token) return fail(std::move(token).error());
    auto core = std::make_shared<internal::ClientCore>(options, std::move(catalog), std::move(*token));
    if (audited) {
      KW_ASSIGN_OR_RETURN(core->audit_log, audit::ProcessAuditLog::open(audit_log, core->token.connection,
                                                                        audit::writer_options_from_environment()));
    }
    return Client(std::move(core));
  });
}

Client::Client(std::shared_ptr<internal::ClientCore> core) : core_(std::move(core)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<std::uint32_t> Client::newest_kek_version(std::string_view kek_family) const {
  return internal::guarded([&]() -> Result<std::uint32_t> { return core_->hierarchy().latest_kek_version(kek_family); });
}

std::vector<TokenHealth> Client::token_health() const {
  std::vector<TokenHealth> health;
  if (const auto* set = dynamic_cast<const hierarchy::TokenSet*>(core_->token.hierarchy.get())) {
    for (const auto& member : set->members())
      health.push_back({member.name, member.in_service, member.last_problem, member.times_taken_out, member.operations});
  } else {
    health.push_back({core_->token.connection->token().info().describe(), true, "", 0, 0});
  }
  return health;
}

}  // namespace keyward
