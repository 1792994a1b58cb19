// Envelopes through the public API: files, descriptors, C++ streams, buffers and ranges; the context
// and tamper checks; the description and key information of a file; lazy rewrap of a file's key.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "tests/keyward/client_support.h"

namespace keyward {
namespace {

using api_testing::bytes;
using api_testing::open_test_client;

const EncryptionContext kContext{{"bucket", "invoices"}, {"object", "2024/07.pdf"}};

std::string scratch(const std::string& name) { return keyward::testing::scratch_dir("client-envelopes") + "/" + name; }

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// 200 kB over 64 KiB segments: several segments, the last one short.
std::string sample_plaintext() {
  std::string text;
  for (int i = 0; text.size() < 200000; ++i) text += "line " + std::to_string(i) + " of the invoice\n";
  return text;
}

ClientOptions small_segments(const std::string& catalog) {
  auto options = api_testing::test_options(catalog);
  options.segment_size = 64 * 1024;
  options.crypto_threads = 2;
  return options;
}

TEST(ClientEnvelopes, FileRoundTripReportsItsKeys) {
  auto client = open_test_client(small_segments("env-file"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  write_file(scratch("file.plain"), plain);
  std::remove(scratch("file.env").c_str());
  std::remove(scratch("file.out").c_str());
  auto sealed = client->encrypt_file("payments", scratch("file.plain"), scratch("file.env"), kContext);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->plaintext_bytes, plain.size());
  EXPECT_EQ(sealed->key.kek_family, "payments");
  EXPECT_GE(sealed->key.kek_version, 1u);
  EXPECT_EQ(sealed->key.dek_id.size(), 32u);
  auto opened = client->decrypt_file(scratch("file.env"), scratch("file.out"), kContext);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->plaintext_bytes, plain.size());
  EXPECT_EQ(opened->key.dek_id, sealed->key.dek_id);
  EXPECT_EQ(read_file(scratch("file.out")), plain);

  auto again = client->encrypt_file("payments", scratch("file.plain"), scratch("file.env"), kContext);
  ASSERT_FALSE(again) << "an existing OUT is refused without replace_existing";
  EXPECT_TRUE(client->encrypt_file("payments", scratch("file.plain"), scratch("file.env"), kContext,
                                   FileOptions{.replace_existing = true}));
}

TEST(ClientEnvelopes, WrongContextAndAFlippedByteAreAuthenticationFailures) {
  auto client = open_test_client(small_segments("env-tamper"));
  ASSERT_TRUE(client);
  write_file(scratch("tamper.plain"), sample_plaintext());
  std::remove(scratch("tamper.env").c_str());
  ASSERT_TRUE(client->encrypt_file("payments", scratch("tamper.plain"), scratch("tamper.env"), kContext));

  auto other = kContext;
  other["object"] = "2024/08.pdf";
  std::remove(scratch("tamper.out").c_str());
  auto wrong_context = client->decrypt_file(scratch("tamper.env"), scratch("tamper.out"), other);
  ASSERT_FALSE(wrong_context);
  EXPECT_NE(access(scratch("tamper.out").c_str(), F_OK), 0) << "no output on failure";

  std::string sealed = read_file(scratch("tamper.env"));
  sealed[sealed.size() - 100] = static_cast<char>(sealed[sealed.size() - 100] ^ 0x01);  // inside the last segment
  write_file(scratch("tampered.env"), sealed);
  auto tampered = client->decrypt_file(scratch("tampered.env"), scratch("tamper.out"), kContext);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().category, ErrorCategory::authentication);
  EXPECT_EQ(tampered.error().exit_code(), 1);
  EXPECT_NE(access(scratch("tamper.out").c_str(), F_OK), 0) << "no output on failure";
}

TEST(ClientEnvelopes, UnknownKekFamilyIsNotFound) {
  auto client = open_test_client("env-unknown");
  ASSERT_TRUE(client);
  auto sealed = client->encrypt_buffer("no-such-family", bytes("x"));
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().category, ErrorCategory::not_found);
  auto unnamed = client->encrypt_buffer("", bytes("x"));
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().category, ErrorCategory::usage);
}

TEST(ClientEnvelopes, DescriptorStreamsRoundTrip) {
  auto client = open_test_client(small_segments("env-fd"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  write_file(scratch("fd.plain"), plain);
  const int in = ::open(scratch("fd.plain").c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(scratch("fd.env").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  auto sealed = client->encrypt_stream("payments", in, out, kContext);
  ::close(in);
  ::close(out);
  ASSERT_TRUE(sealed) << sealed.error().message;
  const int envelope_in = ::open(scratch("fd.env").c_str(), O_RDONLY | O_CLOEXEC);
  const int plain_out = ::open(scratch("fd.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto opened = client->decrypt_stream(envelope_in, plain_out, kContext);
  ::close(envelope_in);
  ::close(plain_out);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->key.dek_id, sealed->key.dek_id);
  EXPECT_EQ(read_file(scratch("fd.out")), plain);
}

TEST(ClientEnvelopes, CppStreamsRoundTrip) {
  auto client = open_test_client(small_segments("env-iostream"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  std::istringstream plain_in(plain);
  std::ostringstream sealed_out;
  auto sealed = client->encrypt_stream("payments", plain_in, sealed_out, kContext);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->plaintext_bytes, plain.size());
  EXPECT_GT(sealed_out.str().size(), plain.size());

  std::istringstream sealed_in(sealed_out.str());
  std::ostringstream plain_out;
  auto opened = client->decrypt_stream(sealed_in, plain_out, kContext);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(plain_out.str(), plain);

  std::string flipped = sealed_out.str();
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x80);
  std::istringstream flipped_in(flipped);
  std::ostringstream ignored;
  auto tampered = client->decrypt_stream(flipped_in, ignored, kContext);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().category, ErrorCategory::authentication);
}

TEST(ClientEnvelopes, AFailingOutputStreamIsAnIoError) {
  auto client = open_test_client(small_segments("env-bad-stream"));
  ASSERT_TRUE(client);
  std::istringstream plain_in(sample_plaintext());
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  auto sealed = client->encrypt_stream("payments", plain_in, broken, kContext);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().category, ErrorCategory::io);
}

TEST(ClientEnvelopes, BuffersRoundTripAndRefuseTampering) {
  auto client = open_test_client("env-buffer");
  ASSERT_TRUE(client);
  const auto plain = bytes("a small secret document");
  auto sealed = client->encrypt_buffer("payments", plain, kContext);
  ASSERT_TRUE(sealed) << sealed.error().message;
  auto opened = client->decrypt_buffer(*sealed, kContext);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plain);

  auto empty = client->encrypt_buffer("payments", {}, kContext);
  ASSERT_TRUE(empty) << empty.error().message;
  auto empty_opened = client->decrypt_buffer(*empty, kContext);
  ASSERT_TRUE(empty_opened) << empty_opened.error().message;
  EXPECT_TRUE(empty_opened->empty());

  EXPECT_FALSE(client->decrypt_buffer(*sealed, {})) << "the context is required";
  auto flipped = *sealed;
  flipped[flipped.size() - 1] ^= 0x01;  // the tag
  auto tampered = client->decrypt_buffer(flipped, kContext);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().category, ErrorCategory::authentication);
  auto truncated = client->decrypt_buffer(std::span(*sealed).first(sealed->size() - 20), kContext);
  EXPECT_FALSE(truncated);
}

TEST(ClientEnvelopes, RangeDecryptReadsAnySliceAndRefusesOutOfBounds) {
  auto client = open_test_client(small_segments("env-range"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  write_file(scratch("range.plain"), plain);
  std::remove(scratch("range.env").c_str());
  ASSERT_TRUE(client->encrypt_file("payments", scratch("range.plain"), scratch("range.env"), kContext));
  // Across the boundary of the first two segments, and the very end.
  const std::uint64_t across = 64 * 1024 - 10;
  auto slice = client->decrypt_range(scratch("range.env"), across, 100, kContext);
  ASSERT_TRUE(slice) << slice.error().message;
  EXPECT_EQ(api_testing::text(*slice), plain.substr(across, 100));
  auto tail = client->decrypt_range(scratch("range.env"), plain.size() - 5, 5, kContext);
  ASSERT_TRUE(tail) << tail.error().message;
  EXPECT_EQ(api_testing::text(*tail), plain.substr(plain.size() - 5));

  auto beyond = client->decrypt_range(scratch("range.env"), plain.size() - 5, 6, kContext);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().category, ErrorCategory::usage);
  auto start_beyond = client->decrypt_range(scratch("range.env"), plain.size() + 1, 0, kContext);
  ASSERT_FALSE(start_beyond);
  EXPECT_EQ(start_beyond.error().category, ErrorCategory::usage);
  EXPECT_FALSE(client->decrypt_range(scratch("range.env"), 0, 10, {})) << "the context is required";
}

TEST(ClientEnvelopes, DescriptionAndKeyInfoNameTheKeysAndNoSecret) {
  auto client = open_test_client(small_segments("env-describe"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  write_file(scratch("describe.plain"), plain);
  std::remove(scratch("describe.env").c_str());
  auto sealed = client->encrypt_file("payments", scratch("describe.plain"), scratch("describe.env"), kContext);
  ASSERT_TRUE(sealed);
  auto described = describe_envelope(scratch("describe.env"));
  ASSERT_TRUE(described) << described.error().message;
  EXPECT_EQ(described->key.kek_family, "payments");
  EXPECT_EQ(described->key.kek_version, sealed->key.kek_version);
  EXPECT_EQ(described->key.dek_id, sealed->key.dek_id);
  EXPECT_EQ(described->context, kContext);
  EXPECT_EQ(described->segment_size, 64u * 1024);
  EXPECT_EQ(described->segments, (plain.size() + 64 * 1024 - 1) / (64 * 1024));
  ASSERT_TRUE(described->plaintext_bytes);
  EXPECT_EQ(*described->plaintext_bytes, plain.size());

  auto info = client->file_key_info(scratch("describe.env"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->dek_id, sealed->key.dek_id);
  EXPECT_FALSE(info->under_older_kek_version);

  write_file(scratch("not-an-envelope"), "hello");
  auto not_envelope = describe_envelope(scratch("not-an-envelope"));
  EXPECT_FALSE(not_envelope);
}

TEST(ClientEnvelopes, RewrapMovesAFileToTheNewestKekVersionAndItStillDecrypts) {
  ASSERT_TRUE(api_testing::create_kek_version("files-lazy"));  // v1
  auto client = open_test_client(small_segments("env-rewrap"));
  ASSERT_TRUE(client);
  const std::string plain = sample_plaintext();
  write_file(scratch("lazy.plain"), plain);
  std::remove(scratch("lazy.env").c_str());
  auto sealed = client->encrypt_file("files-lazy", scratch("lazy.plain"), scratch("lazy.env"), kContext);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->key.kek_version, 1u);
  ASSERT_TRUE(api_testing::create_kek_version("files-lazy"));  // v2

  std::remove(scratch("lazy.out").c_str());
  auto read = client->decrypt_file(scratch("lazy.env"), scratch("lazy.out"), kContext);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->key.under_older_kek_version) << "the read says the file is under an older version";
  auto before = client->file_key_info(scratch("lazy.env"));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->kek_version, 1u);
  EXPECT_TRUE(before->under_older_kek_version);

  auto after = client->rewrap_file_key(scratch("lazy.env"));
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->kek_version, 2u);
  EXPECT_FALSE(after->under_older_kek_version);
  EXPECT_EQ(after->dek_id, sealed->key.dek_id) << "the DEK is the same; only its wrapping changed";
  auto described = describe_envelope(scratch("lazy.env"));
  ASSERT_TRUE(described);
  EXPECT_EQ(described->key.kek_version, 2u);

  std::remove(scratch("lazy.out").c_str());
  auto reread = client->decrypt_file(scratch("lazy.env"), scratch("lazy.out"), kContext);
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ(read_file(scratch("lazy.out")), plain);
  auto again = client->rewrap_file_key(scratch("lazy.env"));
  ASSERT_TRUE(again) << "rewrapping a current file is a no-op";
  EXPECT_EQ(again->kek_version, 2u);
}

}  // namespace
}  // namespace keyward
