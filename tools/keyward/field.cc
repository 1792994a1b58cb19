// keyward field encrypt|decrypt|lookup: column values, one per line on stdin (never on argv).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "keyward/key_service.h"
#include "catalog/sqlite_catalog.h"
#include "tools/common/cli.h"
#include "tools/keyward/context_option.h"
#include "tools/keyward/field_command.h"
#include "tools/keyward/line_io.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward";

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

struct Session {
  TokenContext token;
  std::unique_ptr<hierarchy::SqliteCatalog> catalog;
  std::unique_ptr<hierarchy::DekCache> cache;
  std::unique_ptr<hierarchy::KeyService> keys;
};

// Readers open the catalog read-only (they never write it, and it may be read-only to them).
Result<Session> open_session(const FieldCommand& command, bool reader) {
  Session session;
  KW_ASSIGN_OR_RETURN(session.token, open_token(command.token));
  KW_ASSIGN_OR_RETURN(session.catalog, reader ? hierarchy::SqliteCatalog::open_read_only(command.catalog)
                                              : hierarchy::SqliteCatalog::open(command.catalog));
  session.cache = std::make_unique<hierarchy::DekCache>();
  session.keys = std::make_unique<hierarchy::KeyService>(*session.token.hierarchy, *session.catalog, *session.cache);
  return session;
}

Error value_too_long() {
  return Error{ErrorCategory::policy, "the value is longer than " + std::to_string(envelope::kMaxFieldValueBytes) +
                                          " bytes; field values hold at most " + std::to_string(envelope::kMaxFieldValueBytes) +
                                          " bytes (docs/FIELDS.md): encrypt it as a file",
               std::nullopt};
}

// A failure on line N: what lines 1..N-1 produced is on stdout (flushed first), the error names N.
int report_line(LineWriter& out, std::size_t number, const Error& error) {
  (void)out.flush();  // the error reported is line N's, even if stdout has gone too
  return report(kTool, error.with_context("line " + std::to_string(number)));
}

// Every line was processed: stdout must have taken all of it (a full disk or closed pipe is an error).
int finish_output(LineWriter& out) {
  if (auto flushed = out.flush(); !flushed) return report(kTool, flushed.error());
  return kExitOk;
}

int field_encrypt(const FieldCommand& command, const envelope::EncryptionContext& context) {
  auto session = open_session(command, false);
  if (!session) return report(kTool, session.error());
  auto key = session->keys->key_for_encryption(command.scope, command.kek_family);
  if (!key) return report(kTool, key.error());
  const auto suite = command.suite == "deterministic" ? envelope::FieldSuite::deterministic : envelope::FieldSuite::randomized;
  const envelope::EncodedContext encoded(context);
  LineReader in(STDIN_FILENO, envelope::kMaxFieldValueBytes);
  LineWriter out(STDOUT_FILENO);
  std::size_t number = 0;
  std::string_view line;
  for (;;) {
    auto read = in.next(line);
    if (!read) return report_line(out, number + 1, read.error());
    if (*read == LineReader::Read::end) break;
    ++number;
    if (*read == LineReader::Read::too_long) return report_line(out, number, value_too_long());
    auto value = key->field_key->encrypt(bytes_of(line), suite, encoded);
    if (!value) return report_line(out, number, value.error());
    if (auto written = out.write_line(*value); !written) return report(kTool, written.error());
  }
  return finish_output(out);
}

int field_decrypt(const FieldCommand& command, const envelope::EncryptionContext& context, bool scope_given) {
  auto session = open_session(command, true);
  if (!session) return report(kTool, session.error());
  const std::optional<std::string_view> expected_scope = scope_given ? std::optional<std::string_view>(command.scope) : std::nullopt;
  const envelope::EncodedContext encoded(context);
  LineReader in(STDIN_FILENO, envelope::kMaxFieldTextBytes);
  LineWriter out(STDOUT_FILENO);
  std::size_t number = 0;
  std::string_view line;
  for (;;) {
    auto read = in.next(line);
    if (!read) return report_line(out, number + 1, read.error());
    if (*read == LineReader::Read::end) break;
    ++number;
    if (*read == LineReader::Read::too_long)
      return report_line(out, number, Error{ErrorCategory::corrupt_input,
                                            "encrypted field value is longer than any keyward writes (values hold at most " +
                                                std::to_string(envelope::kMaxFieldValueBytes) + " bytes)",
                                            std::nullopt});
    auto parsed = envelope::parse_field(line);
    if (!parsed) return report_line(out, number, parsed.error());
    auto key = session->keys->shared_key_for_decryption(parsed->dek_id, expected_scope, parsed->body.size());
    if (!key) return report_line(out, number, key.error());
    auto plain = (*key)->field_key->decrypt(*parsed, encoded);
    if (!plain) return report_line(out, number, plain.error());
    if (auto written = out.write_line(plain->reveal()); !written) return report(kTool, written.error());
    if ((*key)->under_older_kek_version)
      std::cerr << "keyward: note: line " << number << " uses a DEK under " << (*key)->record.kek_family << " v"
                << (*key)->record.kek_version << ", an older KEK version\n";
  }
  return finish_output(out);
}

int field_lookup(const FieldCommand& command, const envelope::EncryptionContext& context) {
  auto session = open_session(command, true);
  if (!session) return report(kTool, session.error());
  auto keys = session->keys->keys_of_scope(command.scope);
  if (!keys) return report(kTool, keys.error());
  if (keys->empty()) return report(kTool, Error{ErrorCategory::not_found, "scope '" + command.scope + "' has no DEKs", std::nullopt});
  LineReader in(STDIN_FILENO, envelope::kMaxFieldValueBytes);
  LineWriter out(STDOUT_FILENO);
  std::string_view line;
  std::size_t number = 0;
  for (;;) {
    auto read = in.next(line);
    if (!read) return report_line(out, number + 1, read.error());
    if (*read == LineReader::Read::end) break;
    ++number;
    if (*read == LineReader::Read::too_long) return report_line(out, number, value_too_long());
    // One lookup value per live DEK version: query for any of them.
    for (const auto& key : *keys) {
      auto value = command.blind_index > 0 ? key.field_key->blind_index(bytes_of(line), context, command.blind_index)
                                           : key.field_key->encrypt(bytes_of(line), envelope::FieldSuite::deterministic, context);
      if (!value) return report(kTool, value.error());
      const std::string version = key.record.kek_family + "/v" + std::to_string(key.record.kek_version);
      if (auto written = out.write_line(*value + "\t" + version); !written) return report(kTool, written.error());
      if (command.unscoped_values && command.blind_index == 0) {
        auto old = key.field_key->encrypt(bytes_of(line), envelope::FieldSuite::deterministic, context,
                                          envelope::kFieldVersionUnscoped);
        if (!old) return report(kTool, old.error());
        if (auto written = out.write_line(*old + "\t" + version + "\tunscoped"); !written) return report(kTool, written.error());
      }
    }
  }
  return finish_output(out);
}

}  // namespace

void add_field_commands(CLI::App& app, FieldCommand& command) {
  auto* field = app.add_subcommand("field", "Field-level encryption of column values (one value per line on stdin)");
  field->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    add_token_options(*sub, command.token);
    sub->add_option("--catalog", command.catalog, "key catalog (SQLite); default $KEYWARD_CATALOG or keyward-catalog.db")
        ->capture_default_str();
    sub->add_option("--context", command.context, "key=value bound as associated data (repeat), e.g. table=users");
  };
  auto* encrypt = field->add_subcommand("encrypt", "Encrypt each stdin line under the scope's DEK; print one value per line");
  common(encrypt);
  encrypt->add_option("--scope", command.scope, "DEK scope, e.g. tenant:acme/table:users/column:email")->required();
  encrypt->add_option("--kek", command.kek_family, "KEK family for a new scope DEK")->required();
  encrypt->add_option("--suite", command.suite, "randomized (default) or deterministic (equality lookups)")
      ->check(CLI::IsMember({"randomized", "deterministic"}))
      ->capture_default_str();
  auto* decrypt = field->add_subcommand("decrypt", "Decrypt each stdin line (an encrypted value); print the plaintexts");
  common(decrypt);
  decrypt->add_option("--scope", command.scope,
                      "refuse (exit 1) a value whose DEK belongs to another scope, e.g. one copied from another tenant's row");
  auto* lookup = field->add_subcommand(
      "lookup", "For each stdin value, print its deterministic value (or blind index) under every DEK of the scope");
  common(lookup);
  lookup->add_option("--scope", command.scope, "DEK scope")->required();
  lookup->add_option("--blind-index", command.blind_index, "print a blind index of N bytes (4-32) instead")
      ->check(CLI::Range(4u, 32u));
  lookup->add_flag("--unscoped-values", command.unscoped_values,
                   "also print each DEK's version 1 value (written before scopes were bound; docs/FIELDS.md)");
  if (const char* env = std::getenv("KEYWARD_CATALOG")) command.catalog = env;
}

int run_field(const CLI::App& field_app, const FieldCommand& command) {
  auto context = parse_context(command.context);
  if (!context) return report(kTool, context.error());
  if (field_app.got_subcommand("encrypt")) return field_encrypt(command, *context);
  if (const auto* decrypt = field_app.get_subcommand("decrypt"); decrypt->parsed())
    return field_decrypt(command, *context, decrypt->count("--scope") > 0);
  return field_lookup(command, *context);
}

}  // namespace keyward::cli
