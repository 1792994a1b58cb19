// CeremonyLog: the ceremony transcript for one command, signed by the token's transcript key.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "ceremony/ceremony_transcript.h"
#include "pkcs11/libp11_signer.h"
#include "tools/common/token_context.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

class CeremonyLog {
 public:
  // Creates the transcript key in the token if needed, and opens (or starts) the transcript.
  static Result<CeremonyLog> open(const CeremonyOptions& options, TokenContext& context);

  Status record(std::string_view event, const nlohmann::json& details);
  // Records a failed step (the error's category and message; never secrets).
  Status record_failure(std::string_view event, const Error& error);
  // Where the ceremony's other outputs (KEK blobs, shares) go: the transcript's directory.
  std::string output_dir() const;
  const std::string& path() const { return path_; }

 private:
  class Signer;
  CeremonyLog() = default;
  std::string path_;
  std::shared_ptr<Signer> signer_;
  std::shared_ptr<ceremony::TranscriptWriter> writer_;
};

}  // namespace keyward::cli
