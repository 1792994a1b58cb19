#include "audit/record.h"

#include "base/public_key.h"

namespace keyward::audit {
namespace {

Error not_a_record(const std::string& why) {
  return Error{ErrorCategory::corrupt_input, "not an audit record: " + why, std::nullopt};
}

bool is_hex_hash(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string canonical(const nlohmann::json& record) {
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string record_hash(std::string_view line) { return sha256_hex(line); }

Result<ParsedRecord> parse_record_line(std::string_view line) {
  auto json = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return fail(not_a_record("not a JSON object"));
  // Writers produce the canonical form; any other byte sequence (even whitespace) is an edit.
  if (canonical(json) != line) return fail(not_a_record("not in canonical form"));
  ParsedRecord record;
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = json.find(name);
    return it == json.end() ? nullptr : &*it;
  };
  const auto* v = field("v");
  if (v == nullptr || !v->is_number_unsigned() || v->get<std::uint64_t>() != kSchemaVersion)
    return fail(not_a_record("schema version is not " + std::to_string(kSchemaVersion)));
  const auto* seq = field("seq");
  if (seq == nullptr || !seq->is_number_unsigned()) return fail(not_a_record("no seq"));
  const auto* log = field("log");
  if (log == nullptr || !log->is_string() || log->get_ref<const std::string&>().empty()) return fail(not_a_record("no log ID"));
  const auto* prev = field("prev");
  if (prev == nullptr || !prev->is_string() || !is_hex_hash(prev->get<std::string>())) return fail(not_a_record("no prev hash"));
  const auto* type = field("type");
  if (type == nullptr || !type->is_string()) return fail(not_a_record("no type"));
  const auto* time = field("time");
  if (time == nullptr || !time->is_string()) return fail(not_a_record("no time"));
  const auto* who = field("who");
  if (who == nullptr || !who->is_object()) return fail(not_a_record("no who"));
  record.seq = seq->get<std::uint64_t>();
  record.log_id = log->get<std::string>();
  record.prev = prev->get<std::string>();
  record.type = type->get<std::string>();
  record.json = std::move(json);
  return record;
}

nlohmann::json event_fields(const Event& event) {
  nlohmann::json fields{{"op", event.op}, {"outcome", event.outcome}};
  if (!event.key.empty()) fields["key"] = event.key;
  if (!event.scope.empty()) fields["scope"] = event.scope;
  if (!event.details.empty()) fields["details"] = event.details;
  return fields;
}

}  // namespace keyward::audit
