// The ceremony transcript: an append-only JSON-lines file, hash-chained and signed in the token.
//
// Line 0 is the header: it names the signer's algorithm and public key. Every line carries
//   seq   — 0, 1, 2, … without gaps,
//   prev  — hex SHA-256 of the previous line's exact bytes (line 0: 64 zeros),
//   sig   — base64 ECDSA P-256/SHA-256 signature over the line's canonical JSON without "sig".
// A changed line fails its signature and the next line's prev; an inserted, removed or reordered
// line breaks seq and prev. A cut-off tail still verifies, so the verifier prints the line count and
// head hash for the witness to record (docs/CEREMONY.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::ceremony {

class TranscriptSigner {
 public:
  virtual ~TranscriptSigner() = default;
  virtual Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) = 0;
  virtual const std::string& public_key_pem() const = 0;
};

struct TranscriptParty {
  std::string operator_name;
  std::string witness_name;
  nlohmann::json token;  // label, serial, model
};

class TranscriptWriter {
 public:
  // Opens `path` for appending: creates it (mode 0600) with a header line, or verifies the existing
  // chain first and refuses to extend a broken one or one signed by another key.
  static Result<TranscriptWriter> open(const std::string& path, TranscriptSigner& signer, TranscriptParty party);

  // Appends one signed, chained line and fsyncs it. Safe against other processes appending to the
  // same file (an exclusive flock around reading the head and writing the line).
  Status append(std::string_view event, const nlohmann::json& details);

  std::uint64_t next_seq() const { return next_seq_; }

 private:
  TranscriptWriter(std::string path, TranscriptSigner& signer, TranscriptParty party)
      : path_(std::move(path)), signer_(&signer), party_(std::move(party)) {}
  // False if `header` and the file already had lines (another process created it).
  Result<bool> write_line(nlohmann::json line, bool header);

  std::string path_;
  TranscriptSigner* signer_;
  TranscriptParty party_;
  std::uint64_t next_seq_ = 0;
  std::string previous_hash_;
};

struct TranscriptSummary {
  std::uint64_t lines = 0;
  std::string head_hash;           // SHA-256 of the last line
  std::string public_key_pem;
  std::string public_key_sha256;   // fingerprint of the signer's key (DER SubjectPublicKeyInfo)
};

// Checks the chain and every signature. `public_key_pem`: the key to trust; when absent the header's
// key is used and its fingerprint returned, to be compared with the one the witness recorded.
// Errors: authentication, naming the line number and what is wrong.
Result<TranscriptSummary> verify_transcript(const std::string& path, const std::optional<std::string>& public_key_pem);

}  // namespace keyward::ceremony
