#include "ceremony/ceremony_transcript.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/test_token.h"

namespace keyward::ceremony {
namespace {

// A software ECDSA P-256 signer for tests (the ceremony signs in the token through libp11).
class SoftwareSigner : public TranscriptSigner {
 public:
  SoftwareSigner() {
    key_ = EVP_EC_gen("P-256");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key_);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    pem_.assign(data, static_cast<std::size_t>(size));
    BIO_free(bio);
  }
  ~SoftwareSigner() override { EVP_PKEY_free(key_); }
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t length = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &length, data.data(), data.size());
    std::vector<std::uint8_t> signature(length);
    EVP_DigestSign(ctx, signature.data(), &length, data.data(), data.size());
    signature.resize(length);
    EVP_MD_CTX_free(ctx);
    return signature;
  }
  const std::string& public_key_pem() const override { return pem_; }

 private:
  EVP_PKEY* key_ = nullptr;
  std::string pem_;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line << "\n";
}

std::string make_transcript(SoftwareSigner& signer, const std::string& name) {
  std::string path = keyward::testing::scratch_dir("transcripts") + "/" + name;
  std::remove(path.c_str());
  auto writer = TranscriptWriter::open(path, signer, {"alice", "bob", {{"label", "t"}}});
  EXPECT_TRUE(writer) << writer.error().message;
  EXPECT_TRUE(writer->append("init", {{"kcv", "0011"}}));
  EXPECT_TRUE(writer->append("kek-create", {{"label", "keyward/kek/a/v1"}}));
  EXPECT_TRUE(writer->append("verify", {{"ok", true}}));
  return path;
}

TEST(CeremonyTranscript, UntouchedVerifiesAndAppendContinuesTheChain) {
  SoftwareSigner signer;
  auto path = make_transcript(signer, "ok.jsonl");
  auto summary = verify_transcript(path, signer.public_key_pem());
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->lines, 4u);
  auto reopened = TranscriptWriter::open(path, signer, {"carol", "dave", {}});
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_seq(), 4u);
  ASSERT_TRUE(reopened->append("recover", {}));
  EXPECT_TRUE(verify_transcript(path, std::nullopt));
}

TEST(CeremonyTranscript, EverySingleLineEditIsDetected) {
  SoftwareSigner signer;
  auto path = make_transcript(signer, "edits.jsonl");
  const auto lines = read_lines(path);
  const std::string edited = path + ".edited";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto copy = lines;
    copy[i].insert(copy[i].size() - 1, " ");  // whitespace only
    write_lines(edited, copy);
    EXPECT_FALSE(verify_transcript(edited, std::nullopt)) << "whitespace edit on line " << i + 1;
    copy = lines;
    auto at = copy[i].find("\"seq\":") + 6;
    copy[i][at] = static_cast<char>(copy[i][at] == '9' ? '8' : copy[i][at] + 1);
    write_lines(edited, copy);
    EXPECT_FALSE(verify_transcript(edited, std::nullopt)) << "seq edit on line " << i + 1;
    copy = lines;
    copy.erase(copy.begin() + static_cast<long>(i));
    write_lines(edited, copy);
    if (i + 1 < lines.size()) {
      EXPECT_FALSE(verify_transcript(edited, std::nullopt)) << "removed line " << i + 1;
    }
    copy = lines;
    copy.insert(copy.begin() + static_cast<long>(i), lines[i]);
    write_lines(edited, copy);
    EXPECT_FALSE(verify_transcript(edited, std::nullopt)) << "duplicated line " << i + 1;
  }
  auto swapped = lines;
  std::swap(swapped[1], swapped[2]);
  write_lines(edited, swapped);
  EXPECT_FALSE(verify_transcript(edited, std::nullopt));
}

TEST(CeremonyTranscript, AnotherKeyIsRefused) {
  SoftwareSigner signer, other;
  auto path = make_transcript(signer, "keys.jsonl");
  auto result = verify_transcript(path, other.public_key_pem());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().category, ErrorCategory::authentication);
  EXPECT_FALSE(TranscriptWriter::open(path, other, {}));
}

}  // namespace
}  // namespace keyward::ceremony
