#include "tools/keyward_ceremony/ceremony_log.h"

#include <filesystem>

#include "hierarchy/labels.h"
#include "ceremony/transcript_key.h"

namespace keyward::cli {

class CeremonyLog::Signer : public ceremony::TranscriptSigner {
 public:
  explicit Signer(std::unique_ptr<p11::TokenSigner> token_signer) : token_signer_(std::move(token_signer)) {}
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override { return token_signer_->sign(data); }
  const std::string& public_key_pem() const override { return token_signer_->public_key_pem(); }

 private:
  std::unique_ptr<p11::TokenSigner> token_signer_;
};

void add_ceremony_options(CLI::App& command, CeremonyOptions& options, bool records) {
  if (records && options.transcript_path.empty()) options.transcript_path = "ceremony-transcript.jsonl";
  add_token_options(command, options.token);
  command.add_option("--transcript", options.transcript_path, "the ceremony transcript (JSON lines, signed in the token)")
      ->capture_default_str();
  command.add_option("--operator", options.operator_name, "name of the operator, recorded in the transcript");
  command.add_option("--witness", options.witness_name, "name of the witness, recorded in the transcript");
  command.add_flag("--json", options.json, "machine-readable output");
}

Result<CeremonyLog> CeremonyLog::open(const CeremonyOptions& options, TokenContext& context) {
  KW_ASSIGN_OR_RETURN(bool created, ceremony::ensure_transcript_key(*context.hierarchy));
  (void)created;
  KW_ASSIGN_OR_RETURN(auto pin, context.connection->copy_user_pin_for_second_library());
  KW_ASSIGN_OR_RETURN(auto token_signer,
                      p11::TokenSigner::open(context.connection->token(), pin, hierarchy::transcript_key_label()));
  CeremonyLog log;
  log.path_ = options.transcript_path;
  log.signer_ = std::make_shared<Signer>(std::move(token_signer));
  const auto& info = context.connection->token().info();
  ceremony::TranscriptParty party{options.operator_name, options.witness_name,
                                   {{"label", info.label}, {"serial", info.serial}, {"model", info.model},
                                    {"manufacturer", info.manufacturer}}};
  KW_ASSIGN_OR_RETURN(auto writer, ceremony::TranscriptWriter::open(log.path_, *log.signer_, std::move(party)));
  log.writer_ = std::make_shared<ceremony::TranscriptWriter>(std::move(writer));
  return log;
}

Status CeremonyLog::record(std::string_view event, const nlohmann::json& details) { return writer_->append(event, details); }

Status CeremonyLog::record_failure(std::string_view event, const Error& error) {
  return writer_->append(std::string(event) + "-failed",
                         {{"category", std::string(category_name(error.category))}, {"message", error.message}});
}

std::string CeremonyLog::output_dir() const {
  auto dir = std::filesystem::path(path_).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace keyward::cli
