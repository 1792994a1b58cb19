// CeremonyLog: the transcript of one ceremony step, signed by the token's transcript key.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "ceremony/ceremony_transcript.h"
#include "hierarchy/key_hierarchy.h"
#include "pkcs11/connection.h"

namespace keyward::ceremony {

struct CeremonyLogOptions {
  std::string transcript_path;  // JSON lines, created on first use (mode 0600)
  std::string operator_name;    // recorded in the header
  std::string witness_name;
};

class CeremonyLog {
 public:
  // Creates the transcript key in the token if needed, and opens (or starts) the transcript.
  // `connection` is the one `hierarchy` uses: the signer opens the same token with the same PIN.
  static Result<CeremonyLog> open(const CeremonyLogOptions& options, p11::Connection& connection,
                                  hierarchy::KeyHierarchy& hierarchy);

  Status record(std::string_view event, const nlohmann::json& details);
  // Records a failed step as "<event>-failed" (the error's category and message; never secrets).
  Status record_failure(std::string_view event, const Error& error);
  // Where the ceremony's other outputs (KEK blobs, shares) go: the transcript's directory.
  std::string output_dir() const;
  const std::string& path() const { return path_; }

 private:
  class Signer;
  CeremonyLog() = default;
  std::string path_;
  std::shared_ptr<Signer> signer_;
  std::shared_ptr<TranscriptWriter> writer_;
};

}  // namespace keyward::ceremony
