#include "ceremony/ceremony_log.h"

#include <filesystem>

#include "audit/recorder.h"
#include "ceremony/transcript_key.h"
#include "hierarchy/labels.h"
#include "pkcs11/libp11_signer.h"

namespace keyward::ceremony {

class CeremonyLog::Signer : public TranscriptSigner {
 public:
  explicit Signer(std::unique_ptr<p11::TokenSigner> token_signer) : token_signer_(std::move(token_signer)) {}
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override { return token_signer_->sign(data); }
  const std::string& public_key_pem() const override { return token_signer_->public_key_pem(); }

 private:
  std::unique_ptr<p11::TokenSigner> token_signer_;
};

Result<CeremonyLog> CeremonyLog::open(const CeremonyLogOptions& options, p11::Connection& connection,
                                      hierarchy::KeyHierarchy& hierarchy) {
  KW_ASSIGN_OR_RETURN(bool created, ensure_transcript_key(hierarchy));
  (void)created;
  KW_ASSIGN_OR_RETURN(auto pin, connection.copy_user_pin_for_second_library());
  KW_ASSIGN_OR_RETURN(auto token_signer, p11::TokenSigner::open(connection.token(), pin, hierarchy::transcript_key_label()));
  CeremonyLog log;
  log.path_ = options.transcript_path;
  log.signer_ = std::make_shared<Signer>(std::move(token_signer));
  const auto& info = connection.token().info();
  TranscriptParty party{options.operator_name, options.witness_name,
                        {{"label", info.label}, {"serial", info.serial}, {"model", info.model},
                         {"manufacturer", info.manufacturer}}};
  KW_ASSIGN_OR_RETURN(auto writer, TranscriptWriter::open(log.path_, *log.signer_, std::move(party)));
  log.writer_ = std::make_shared<TranscriptWriter>(std::move(writer));
  return log;
}

Status CeremonyLog::record(std::string_view event, const nlohmann::json& details) {
  KW_TRY(writer_->append(event, details));
  // The step in the audit log too, named only: its details (shares, fingerprints) stay in the transcript.
  return audit::record({"ceremony." + std::string(event), "ok", "", "", {{"transcript", path_}}});
}

Status CeremonyLog::record_failure(std::string_view event, const Error& error) {
  KW_TRY(writer_->append(std::string(event) + "-failed",
                         {{"category", std::string(category_name(error.category))}, {"message", error.message}}));
  return audit::record({"ceremony." + std::string(event), "failed", "", "",
                        {{"transcript", path_}, {"category", std::string(category_name(error.category))}, {"reason", error.message}}});
}

std::string CeremonyLog::output_dir() const {
  auto dir = std::filesystem::path(path_).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace keyward::ceremony
