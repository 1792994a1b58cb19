#include "hierarchy/labels.h"

#include <charconv>

namespace keyward::hierarchy {
namespace {

std::optional<std::uint32_t> parse_version(std::string_view text) {
  if (text.size() < 2 || text[0] != 'v' || text[1] == '0') return std::nullopt;
  std::uint32_t version = 0;
  auto [end, error] = std::from_chars(text.data() + 1, text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || version == 0) return std::nullopt;
  return version;
}

bool valid_name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '-');
}

}  // namespace

std::string root_label(std::uint32_t version) { return "keyward/root/v" + std::to_string(version); }

std::string kek_label(std::string_view family, std::uint32_t version) {
  return "keyward/kek/" + std::string(family) + "/v" + std::to_string(version);
}

std::string kek_blob_label(std::string_view family, std::uint32_t version) {
  return "keyward/kek-blob/" + std::string(family) + "/v" + std::to_string(version);
}

std::string destroyed_kek_label(std::string_view family, std::uint32_t version) {
  return "keyward/destroyed-kek/" + std::string(family) + "/v" + std::to_string(version);
}

std::string transcript_key_label() { return "keyward/transcript-signer"; }

std::string session_kek_label(std::string_view family, std::uint32_t version) {
  return "keyward/kek-session/" + std::string(family) + "/v" + std::to_string(version);
}

Status validate_kek_family(std::string_view family) {
  bool ok = !family.empty() && family.size() <= 63;
  for (std::size_t i = 0; ok && i < family.size(); ++i) ok = valid_name_char(family[i], i == 0);
  if (!ok)
    return make_error(ErrorCategory::usage, "KEK family '" + std::string(family) +
                                                "' is invalid: use 1-63 of a-z 0-9 _ -, starting with a letter or digit");
  return {};
}

std::optional<ParsedLabel> parse_label(std::string_view label) {
  if (!label.starts_with(kLabelPrefix)) return std::nullopt;
  std::string_view rest = label.substr(kLabelPrefix.size());
  if (rest == "transcript-signer") return ParsedLabel{ParsedLabel::Kind::transcript_key, {}, 0};
  // The audit log's checkpoint key and head objects (audit/audit_key.h).
  if (rest == "audit/signer") return ParsedLabel{ParsedLabel::Kind::audit_signer, {}, 0};
  if (rest == "audit/head") return ParsedLabel{ParsedLabel::Kind::audit_head, {}, 0};
  auto take = [&rest]() {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    return part;
  };
  std::string_view kind = take();
  if (kind == "root") {
    auto version = parse_version(rest);
    if (!version) return std::nullopt;
    return ParsedLabel{ParsedLabel::Kind::root, {}, *version};
  }
  if (kind == "kek" || kind == "kek-blob" || kind == "destroyed-kek") {
    std::string_view name = take();
    auto version = parse_version(rest);
    if (!version || !validate_kek_family(name)) return std::nullopt;
    const auto parsed_kind = kind == "kek"        ? ParsedLabel::Kind::kek
                             : kind == "kek-blob" ? ParsedLabel::Kind::kek_blob
                                                  : ParsedLabel::Kind::destroyed_kek;
    return ParsedLabel{parsed_kind, std::string(name), *version};
  }
  return std::nullopt;
}

}  // namespace keyward::hierarchy
