// keyward field encrypt|decrypt|lookup: column values, one per line on stdin (never on argv).
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "envelope/field.h"
#include "tools/common/cli.h"
#include "tools/keyward/context_option.h"
#include "tools/keyward/field_command.h"
#include "tools/keyward/line_io.h"
#include "tools/keyward/open_client.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward";

// A client and a Field of the command's scope and context. Readers open the catalog read-only (they
// never write it, and it may be read-only to them).
struct FieldSession {
  Client client;
  Field field;
};

Result<FieldSession> open_field(const FieldCommand& command, const FieldOptions& field_options, bool reader) {
  ClientOptions options;
  options.catalog = command.catalog;
  options.read_only_catalog = reader;
  KW_ASSIGN_OR_RETURN(auto client, open_client(command.token, options));
  KW_ASSIGN_OR_RETURN(auto field, client.field(field_options));
  return FieldSession{std::move(client), std::move(field)};
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

// A value whose DEK is under an older KEK version decrypts; say which (keyward-rotate run rewraps it).
void note_older_version(const Client& client, std::string_view text, std::size_t number) {
  auto key = client.field_key_info(text);
  if (!key) return;  // advice only
  std::cerr << "keyward: note: line " << number << " uses a DEK under " << key->kek_family << " v" << key->kek_version
            << ", an older KEK version\n";
}

int field_encrypt(const FieldCommand& command, const EncryptionContext& context) {
  FieldOptions options;
  options.scope = command.scope;
  options.kek_family = command.kek_family;
  options.mode = command.suite == "deterministic" ? FieldMode::deterministic : FieldMode::randomized;
  options.context = context;
  auto session = open_field(command, options, false);
  if (!session) return report(kTool, session.error());
  const Field& field = session->field;
  // Resolves (or creates) the scope's DEK before any line is read, as a failure of the whole command.
  if (auto key = field.encryption_key_info(); !key) return report(kTool, key.error());
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
    auto value = field.encrypt(line);
    if (!value) return report_line(out, number, value.error());
    if (auto written = out.write_line(*value); !written) return report(kTool, written.error());
  }
  return finish_output(out);
}

int field_decrypt(const FieldCommand& command, const EncryptionContext& context, bool scope_given) {
  FieldOptions options;
  options.context = context;
  // Without --scope a value of any scope decrypts (the command's documented behaviour).
  if (scope_given)
    options.scope = command.scope;
  else
    options.decrypt_any_scope = true;
  auto session = open_field(command, options, true);
  if (!session) return report(kTool, session.error());
  const Field& field = session->field;
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
    auto plain = field.decrypt(line);
    if (!plain) return report_line(out, number, plain.error());
    auto written = out.write_line(plain->value);
    OPENSSL_cleanse(plain->value.data(), plain->value.size());
    if (!written) return report(kTool, written.error());
    if (plain->under_older_kek_version) note_older_version(session->client, line, number);
  }
  return finish_output(out);
}

int field_lookup(const FieldCommand& command, const EncryptionContext& context) {
  FieldOptions options;
  options.scope = command.scope;
  options.mode = FieldMode::deterministic;
  options.context = context;
  auto session = open_field(command, options, true);
  if (!session) return report(kTool, session.error());
  const Field& field = session->field;
  auto keys = field.lookup_key_info();
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
    auto values = command.blind_index > 0 ? field.blind_indexes(line, command.blind_index)
                                          : field.lookup_values(line, command.unscoped_values);
    if (!values) return report(kTool, values.error());
    for (const auto& value : *values) {
      const std::string row = value.text + "\t" + value.kek_family + "/v" + std::to_string(value.kek_version) +
                              (value.unscoped ? "\tunscoped" : "");
      if (auto written = out.write_line(row); !written) return report(kTool, written.error());
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
    sub->add_option("--catalog", command.catalog, "key catalog: a SQLite file, or a postgresql:// URI (password from ~/.pgpass, never the URI); default $KEYWARD_CATALOG or keyward-catalog.db")
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
