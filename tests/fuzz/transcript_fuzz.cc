// Ceremony transcripts (ceremony/ceremony_transcript.h verify_transcript), read by `transcript verify`
// and before every append. The seeds are transcripts written by TranscriptWriter with a fixed
// software key (tests/fuzz/fixture_key.h). Properties: never crashes; a refused transcript
// is an authentication, corrupt_input or io error; one that verifies reports as many lines as it has
// and the SHA-256 of its last line as head; one that verifies under its own header key with the fixed
// key also verifies when that key is given as the trusted one, with the same line count and head.
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ceremony/ceremony_transcript.h"
#include "hierarchy/kek_blob.h"
#include "tests/fuzz/fixture_key.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

namespace {

// Signs with the fuzz fixture key (fixture_key.h).
class FixtureSigner final : public ceremony::TranscriptSigner {
 public:
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override { return fuzz::fixture_sign(data); }
  const std::string& public_key_pem() const override { return fuzz::fixture_public_key_pem(); }
};

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return hierarchy::to_hex(std::span<const std::uint8_t>(digest, length));
}

bool expected_failure(const Error& error) {
  return error.category == ErrorCategory::authentication || error.category == ErrorCategory::corrupt_input ||
         error.category == ErrorCategory::io;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = fuzz::memory_file({data, size});
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto own = ceremony::verify_transcript(path, std::nullopt);
  auto trusted = ceremony::verify_transcript(path, fuzz::fixture_public_key_pem());
  ::close(fd);
  if (!own) FUZZ_CHECK(expected_failure(own.error()));
  if (!trusted) FUZZ_CHECK(expected_failure(trusted.error()));
  if (!own) return 0;

  // std::getline's lines: a last line without its newline counts, a final newline adds none.
  const std::string_view text = fuzz::text_of(data, size);
  std::uint64_t lines = 0;
  std::string_view last;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    last = text.substr(begin, end - begin);
    ++lines;
    begin = end + 1;
  }
  FUZZ_CHECK(own->lines == lines && own->head_hash == sha256_hex(last));
  if (trusted) FUZZ_CHECK(trusted->lines == own->lines && trusted->head_hash == own->head_hash);
  // Same key in the header as the trusted one: both verifications agree.
  if (own->public_key_pem == fuzz::fixture_public_key_pem()) FUZZ_CHECK(trusted.has_value());
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  char dir_template[] = "/tmp/keyward-transcript-seed-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return seeds;
  const std::string path = std::string(dir) + "/transcript.jsonl";
  FixtureSigner signer;
  ceremony::TranscriptParty party{"alice", "bob", {{"label", "keyward-dev"}, {"serial", "0123456789abcdef"}}};
  auto writer = ceremony::TranscriptWriter::open(path, signer, party);
  if (writer) {
    (void)writer->append("root-created", {{"root_version", 1}, {"kcv", "0011223344556677"}, {"shares", 3}});
    (void)writer->append("kek-created", {{"kek", "payments"}, {"version", 1}});
    std::ifstream in(path, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::filesystem::remove_all(dir);
  return seeds;
}
