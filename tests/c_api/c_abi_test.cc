// The C ABI (keyward/keyward_c.h) called as a C program would: every function's success path, the
// statuses and messages of bad arguments and bad data (derived from one good value: wrong context,
// flipped byte, another scope, unknown KEK), the no-op frees, and one client shared by 4 threads.
#include "keyward/keyward_c.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tests/keyward/client_support.h"

namespace {

using keyward::api_testing::fresh_catalog_path;

const char* const kEmailContext[] = {"table", "users", "column", "email", nullptr};
const char* const kEmailContextReordered[] = {"column", "email", "table", "users", nullptr};
const char* const kOtherContext[] = {"table", "users", "column", "phone", nullptr};

std::string scratch(const std::string& name) { return keyward::testing::scratch_dir("c-abi") + "/" + name; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

const unsigned char* bytes_of(const char* text) { return reinterpret_cast<const unsigned char*>(text); }

// The failure left a message for this thread.
void expect_message() {
  ASSERT_NE(kw_last_error(), nullptr);
  EXPECT_STRNE(kw_last_error(), "");
}

// A client on the process's test token (root and KEK "payments"), with a fresh catalog.
class CAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(keyward::hierarchy::testing::hierarchy_env(), nullptr);
    const std::string catalog = fresh_catalog_path(std::string("c-abi-") +
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(kw_open(keyward::testing::test_token().uri.c_str(), catalog.c_str(), &client_), KW_OK) << kw_last_error();
    ASSERT_NE(client_, nullptr);
    EXPECT_STREQ(kw_last_error(), "");
  }
  void TearDown() override { kw_close(client_); }

  // Encrypts `value` in `scope` under "payments"; fails the test unless it works.
  std::string encrypt(const char* scope, const char* value, int deterministic = 0,
                      const char* const* context = kEmailContext) {
    char* text = nullptr;
    EXPECT_EQ(kw_field_encrypt(client_, scope, "payments", deterministic, bytes_of(value), std::strlen(value), context, &text),
              KW_OK)
        << kw_last_error();
    if (text == nullptr) return "";
    std::string copy(text);
    kw_free(text);
    return copy;
  }

  // Decrypts; returns the status, and the value in *out on success.
  int decrypt(const std::string& text, const char* scope, const char* const* context, std::string* out = nullptr) {
    unsigned char* value = nullptr;
    size_t length = 99;
    const int status = kw_field_decrypt(client_, text.c_str(), scope, context, &value, &length);
    if (status == KW_OK) {
      EXPECT_NE(value, nullptr);
      EXPECT_EQ(value[length], '\0') << "a NUL after the value";
      if (out != nullptr) out->assign(reinterpret_cast<const char*>(value), length);
    } else {
      EXPECT_EQ(value, nullptr) << "no plaintext on failure";
      EXPECT_EQ(length, 0u);
    }
    kw_free(value);
    return status;
  }

  kw_client* client_ = nullptr;
};

TEST_F(CAbi, RandomizedFieldRoundTrip) {
  const std::string first = encrypt("tenant:acme/users/email", "alice@example.com");
  const std::string second = encrypt("tenant:acme/users/email", "alice@example.com");
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first, second) << "a fresh nonce per value";
  std::string plain;
  ASSERT_EQ(decrypt(first, "tenant:acme/users/email", kEmailContext, &plain), KW_OK) << kw_last_error();
  EXPECT_EQ(plain, "alice@example.com");
  EXPECT_STREQ(kw_last_error(), "") << "a success leaves no message";
  // The same pairs in another order are the same context; NULL scope reads any scope.
  ASSERT_EQ(decrypt(second, nullptr, kEmailContextReordered, &plain), KW_OK) << kw_last_error();
  EXPECT_EQ(plain, "alice@example.com");
}

TEST_F(CAbi, DeterministicFieldRoundTripGivesEqualTexts) {
  const std::string alice = encrypt("tenant:acme/users/email", "alice@example.com", 1);
  EXPECT_EQ(alice, encrypt("tenant:acme/users/email", "alice@example.com", 1));
  EXPECT_NE(alice, encrypt("tenant:acme/users/email", "bob@example.com", 1));
  std::string plain;
  ASSERT_EQ(decrypt(alice, "tenant:acme/users/email", kEmailContext, &plain), KW_OK) << kw_last_error();
  EXPECT_EQ(plain, "alice@example.com");
}

TEST_F(CAbi, BinaryAndEmptyValuesWithoutContext) {
  const unsigned char binary[] = {0, 1, 2, 0, 255};
  char* text = nullptr;
  ASSERT_EQ(kw_field_encrypt(client_, "tenant:acme/blobs", "payments", 0, binary, sizeof binary, nullptr, &text), KW_OK)
      << kw_last_error();
  std::string plain;
  ASSERT_EQ(decrypt(text, "tenant:acme/blobs", nullptr, &plain), KW_OK) << kw_last_error();
  EXPECT_EQ(plain, std::string(reinterpret_cast<const char*>(binary), sizeof binary));
  kw_free(text);

  text = nullptr;
  ASSERT_EQ(kw_field_encrypt(client_, "tenant:acme/blobs", "payments", 0, nullptr, 0, nullptr, &text), KW_OK)
      << kw_last_error();
  ASSERT_EQ(decrypt(text, "tenant:acme/blobs", nullptr, &plain), KW_OK) << kw_last_error();
  EXPECT_TRUE(plain.empty());
  kw_free(text);
}

TEST_F(CAbi, BadFieldDataFailsWithStatusOneAndAMessage) {
  const std::string good = encrypt("tenant:acme/users/email", "alice@example.com");
  ASSERT_FALSE(good.empty());

  EXPECT_EQ(decrypt(good, "tenant:acme/users/email", kOtherContext), KW_FAILED) << "wrong context";
  expect_message();
  EXPECT_EQ(decrypt(good, "tenant:acme/users/email", nullptr), KW_FAILED) << "missing context";
  expect_message();
  EXPECT_EQ(decrypt(good, "tenant:globex/users/email", kEmailContext), KW_FAILED) << "a value of another scope";
  expect_message();

  for (std::size_t at : {good.size() / 2, good.size() - 2}) {
    std::string tampered = good;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    EXPECT_EQ(decrypt(tampered, "tenant:acme/users/email", kEmailContext), KW_FAILED) << "flipped at " << at;
    expect_message();
  }
  EXPECT_EQ(decrypt(good.substr(0, good.size() / 2), "tenant:acme/users/email", kEmailContext), KW_FAILED) << "truncated";
  expect_message();
  EXPECT_EQ(decrypt("not a value", nullptr, nullptr), KW_FAILED);
  expect_message();

  char* text = reinterpret_cast<char*>(0x1);
  EXPECT_EQ(kw_field_encrypt(client_, "tenant:acme/x", "no-such-kek", 0, bytes_of("v"), 1, nullptr, &text), KW_FAILED)
      << "unknown KEK family";
  EXPECT_EQ(text, nullptr);
  expect_message();
  EXPECT_NE(std::string(kw_last_error()).find("no-such-kek"), std::string::npos) << kw_last_error();

  // The good value still decrypts: failures poison nothing (the Field cache included).
  EXPECT_EQ(decrypt(good, "tenant:acme/users/email", kEmailContext), KW_OK) << kw_last_error();
}

TEST_F(CAbi, BadFieldArgumentsAreUsageErrors) {
  char* text = reinterpret_cast<char*>(0x1);
  const auto* value = bytes_of("v");
  EXPECT_EQ(kw_field_encrypt(nullptr, "s", "payments", 0, value, 1, nullptr, &text), KW_USAGE);
  expect_message();
  EXPECT_EQ(text, nullptr) << "the output is cleared first";
  EXPECT_EQ(kw_field_encrypt(client_, nullptr, "payments", 0, value, 1, nullptr, &text), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_encrypt(client_, "", "payments", 0, value, 1, nullptr, &text), KW_USAGE) << "empty scope";
  expect_message();
  EXPECT_EQ(kw_field_encrypt(client_, "s", nullptr, 0, value, 1, nullptr, &text), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_encrypt(client_, "s", "", 0, value, 1, nullptr, &text), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_encrypt(client_, "s", "payments", 0, nullptr, 3, nullptr, &text), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_encrypt(client_, "s", "payments", 0, value, 1, nullptr, nullptr), KW_USAGE);
  expect_message();

  const char* const odd[] = {"table", "users", "column", nullptr};
  const char* const empty_key[] = {"", "users", nullptr};
  const char* const twice[] = {"table", "users", "table", "orders", nullptr};
  for (const char* const* context : {odd, empty_key, twice}) {
    EXPECT_EQ(kw_field_encrypt(client_, "s", "payments", 0, value, 1, context, &text), KW_USAGE) << "malformed context";
    expect_message();
    EXPECT_EQ(text, nullptr);
  }

  const std::string good = encrypt("tenant:acme/users/email", "alice@example.com");
  unsigned char* plain = reinterpret_cast<unsigned char*>(0x1);
  size_t length = 7;
  EXPECT_EQ(kw_field_decrypt(nullptr, good.c_str(), nullptr, kEmailContext, &plain, &length), KW_USAGE);
  expect_message();
  EXPECT_EQ(plain, nullptr);
  EXPECT_EQ(length, 0u);
  EXPECT_EQ(kw_field_decrypt(client_, nullptr, nullptr, kEmailContext, &plain, &length), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_decrypt(client_, good.c_str(), "", kEmailContext, &plain, &length), KW_USAGE) << "empty scope";
  expect_message();
  EXPECT_EQ(kw_field_decrypt(client_, good.c_str(), nullptr, kEmailContext, nullptr, &length), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_decrypt(client_, good.c_str(), nullptr, kEmailContext, &plain, nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_field_decrypt(client_, good.c_str(), nullptr, odd, &plain, &length), KW_USAGE);
  expect_message();
}

TEST_F(CAbi, FileRoundTripAndFailures) {
  std::string plain;
  for (int i = 0; plain.size() < 100000; ++i) plain += "line " + std::to_string(i) + " of the invoice\n";
  const std::string in = scratch("file.plain"), sealed = scratch("file.env"), out = scratch("file.out");
  for (const auto& path : {sealed, out}) std::remove(path.c_str());
  std::ofstream(in, std::ios::binary | std::ios::trunc) << plain;
  const char* const context[] = {"bucket", "invoices", nullptr};

  ASSERT_EQ(kw_encrypt_file(client_, "payments", in.c_str(), sealed.c_str(), context), KW_OK) << kw_last_error();
  EXPECT_NE(read_file(sealed), plain);
  ASSERT_EQ(kw_decrypt_file(client_, sealed.c_str(), out.c_str(), context), KW_OK) << kw_last_error();
  EXPECT_EQ(read_file(out), plain);

  EXPECT_EQ(kw_encrypt_file(client_, "payments", in.c_str(), sealed.c_str(), context), KW_USAGE) << "existing output";
  EXPECT_NE(std::string(kw_last_error()).find("already exists"), std::string::npos) << kw_last_error();
  std::remove(out.c_str());
  const char* const wrong[] = {"bucket", "receipts", nullptr};
  EXPECT_EQ(kw_decrypt_file(client_, sealed.c_str(), out.c_str(), wrong), KW_FAILED) << "wrong context";
  expect_message();
  EXPECT_FALSE(std::ifstream(out).good()) << "no output from a failed decryption";

  std::string tampered = read_file(sealed);
  tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 1);
  const std::string tampered_path = scratch("file.tampered");
  std::ofstream(tampered_path, std::ios::binary | std::ios::trunc) << tampered;
  EXPECT_EQ(kw_decrypt_file(client_, tampered_path.c_str(), out.c_str(), context), KW_FAILED) << "flipped byte";
  expect_message();
  EXPECT_FALSE(std::ifstream(out).good());

  std::remove(sealed.c_str());
  EXPECT_EQ(kw_encrypt_file(client_, "no-such-kek", in.c_str(), sealed.c_str(), context), KW_FAILED) << "unknown KEK";
  expect_message();

  EXPECT_EQ(kw_encrypt_file(nullptr, "payments", in.c_str(), sealed.c_str(), nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_encrypt_file(client_, nullptr, in.c_str(), sealed.c_str(), nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_encrypt_file(client_, "payments", nullptr, sealed.c_str(), nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_encrypt_file(client_, "payments", in.c_str(), "", nullptr), KW_USAGE);
  expect_message();
  const char* const odd[] = {"bucket", nullptr};
  EXPECT_EQ(kw_encrypt_file(client_, "payments", in.c_str(), sealed.c_str(), odd), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_decrypt_file(nullptr, sealed.c_str(), out.c_str(), nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_decrypt_file(client_, sealed.c_str(), nullptr, nullptr), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_decrypt_file(client_, sealed.c_str(), out.c_str(), odd), KW_USAGE);
  expect_message();
}

TEST_F(CAbi, AReusedArgumentBufferIsReadAfreshOnEveryCall) {
  // The client remembers the Field of the last arguments per thread: a caller that rewrites the same
  // buffers between calls must still get the scope and context the buffers now hold.
  char scope[] = "tenant:a/users/email";
  char column[] = "email";
  const char* context[] = {"column", column, nullptr};
  char* text = nullptr;
  ASSERT_EQ(kw_field_encrypt(client_, scope, "payments", 0, bytes_of("v"), 1, context, &text), KW_OK) << kw_last_error();
  kw_free(text);
  scope[7] = 'b';
  column[0] = 'f';  // "fmail"
  ASSERT_EQ(kw_field_encrypt(client_, scope, "payments", 0, bytes_of("v"), 1, context, &text), KW_OK) << kw_last_error();
  const std::string written(text);
  kw_free(text);
  const char* const fmail[] = {"column", "fmail", nullptr};
  const char* const email[] = {"column", "email", nullptr};
  EXPECT_EQ(decrypt(written, "tenant:b/users/email", fmail), KW_OK) << kw_last_error();
  EXPECT_EQ(decrypt(written, "tenant:a/users/email", fmail), KW_FAILED) << "the value is in scope b";
  EXPECT_EQ(decrypt(written, "tenant:b/users/email", email), KW_FAILED) << "its context says fmail";
}

TEST_F(CAbi, TwoClientsInOneThreadKeepTheirOwnFields) {
  const std::string text = encrypt("tenant:acme/users/email", "alice@example.com");
  kw_client* other = nullptr;
  const std::string catalog = fresh_catalog_path("c-abi-two-clients");
  ASSERT_EQ(kw_open(keyward::testing::test_token().uri.c_str(), catalog.c_str(), &other), KW_OK) << kw_last_error();
  for (int round = 0; round < 2; ++round) {
    // The other client's catalog has no DEK for this value: the same arguments, another answer.
    unsigned char* value = nullptr;
    size_t length = 0;
    EXPECT_EQ(kw_field_decrypt(other, text.c_str(), "tenant:acme/users/email", kEmailContext, &value, &length),
              KW_FAILED);
    EXPECT_EQ(decrypt(text, "tenant:acme/users/email", kEmailContext), KW_OK) << kw_last_error();
  }
  kw_close(other);
  // A client opened after another closed (perhaps at the same address) starts with nothing remembered.
  ASSERT_EQ(kw_open(keyward::testing::test_token().uri.c_str(), catalog.c_str(), &other), KW_OK) << kw_last_error();
  unsigned char* value = nullptr;
  size_t length = 0;
  EXPECT_EQ(kw_field_decrypt(other, text.c_str(), "tenant:acme/users/email", kEmailContext, &value, &length), KW_FAILED);
  kw_close(other);
}

TEST_F(CAbi, FourThreadsShareOneClient) {
  constexpr std::size_t kThreads = 4;
  constexpr int kValues = 200;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Two threads per scope: the shared scope's Field and DEK are made under contention.
      const std::string scope = "tenant:t" + std::to_string(t % 2) + "/users/email";
      for (int i = 0; i < kValues; ++i) {
        const std::string value = "user" + std::to_string(t) + "-" + std::to_string(i) + "@example.com";
        char* text = nullptr;
        if (kw_field_encrypt(client_, scope.c_str(), "payments", i % 2, bytes_of(value.c_str()), value.size(),
                             kEmailContext, &text) != KW_OK) {
          ++failures[t];
          continue;
        }
        unsigned char* plain = nullptr;
        size_t length = 0;
        const int status = kw_field_decrypt(client_, text, scope.c_str(), kEmailContext, &plain, &length);
        if (status != KW_OK || std::string(reinterpret_cast<char*>(plain), length) != value) ++failures[t];
        kw_free(plain);  // the failing call below sets `plain` to NULL first
        plain = nullptr;
        // Each thread's last error is its own: a failure here leaves the other threads' "" alone.
        if (i % 50 == 0 && (kw_field_decrypt(client_, text, scope.c_str(), kOtherContext, &plain, &length) != KW_FAILED ||
                            std::strlen(kw_last_error()) == 0))
          ++failures[t];
        kw_free(plain);
        kw_free(text);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

// A batch buffer: the values one after another, and their lengths.
struct ValueBatch {
  std::string bytes;
  std::vector<size_t> lengths;
  void add(const std::string& value) {
    bytes += value;
    lengths.push_back(value.size());
  }
  const unsigned char* data() const { return bytes_of(bytes.c_str()); }
};

// The texts of a batch output, split at their NULs.
std::vector<std::string> split_texts(const char* texts, size_t size) {
  std::vector<std::string> split;
  for (size_t at = 0; at < size; at += split.back().size() + 1) split.emplace_back(texts + at);
  return split;
}

TEST_F(CAbi, BatchesRoundTripAndMatchSingleCalls) {
  ValueBatch batch;
  for (int i = 0; i < 100; ++i) batch.add("user" + std::to_string(i) + "@example.com");
  batch.add("");
  batch.add(std::string("\0\1\2\0\377", 5));
  for (int deterministic = 0; deterministic <= 1; ++deterministic) {
    char* texts = nullptr;
    size_t size = 0;
    ASSERT_EQ(kw_field_encrypt_batch(client_, "tenant:acme/users/email", "payments", deterministic, batch.data(),
                                     batch.lengths.data(), batch.lengths.size(), kEmailContext, &texts, &size),
              KW_OK)
        << kw_last_error();
    const auto split = split_texts(texts, size);
    ASSERT_EQ(split.size(), batch.lengths.size());
    // Each text is an ordinary value text: the single call reads it, and a deterministic text equals
    // the single call's.
    std::string plain;
    ASSERT_EQ(decrypt(split[7], "tenant:acme/users/email", kEmailContext, &plain), KW_OK) << kw_last_error();
    EXPECT_EQ(plain, "user7@example.com");
    if (deterministic != 0) {
      EXPECT_EQ(split[7], encrypt("tenant:acme/users/email", "user7@example.com", 1));
    }

    unsigned char* values = nullptr;
    std::vector<size_t> lengths(split.size(), 99);
    ASSERT_EQ(kw_field_decrypt_batch(client_, texts, size, split.size(), "tenant:acme/users/email", kEmailContext,
                                     &values, lengths.data()),
              KW_OK)
        << kw_last_error();
    EXPECT_EQ(lengths, batch.lengths);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(values), batch.bytes.size()), batch.bytes);
    kw_free(values);
    kw_free(texts);
  }
}

TEST_F(CAbi, EmptyBatchesSucceed) {
  char* texts = nullptr;
  size_t size = 99;
  ASSERT_EQ(kw_field_encrypt_batch(client_, "tenant:acme/blobs", "payments", 0, nullptr, nullptr, 0, nullptr, &texts, &size),
            KW_OK)
      << kw_last_error();
  EXPECT_NE(texts, nullptr);
  EXPECT_EQ(size, 0u);
  unsigned char* values = nullptr;
  ASSERT_EQ(kw_field_decrypt_batch(client_, texts, 0, 0, nullptr, nullptr, &values, nullptr), KW_OK) << kw_last_error();
  EXPECT_NE(values, nullptr);
  kw_free(values);
  kw_free(texts);
}

TEST_F(CAbi, ABadValueFailsTheWholeBatchAndNamesIt) {
  ValueBatch batch;
  for (int i = 0; i < 5; ++i) batch.add("value " + std::to_string(i));
  char* texts = nullptr;
  size_t size = 0;
  ASSERT_EQ(kw_field_encrypt_batch(client_, "tenant:acme/users/email", "payments", 0, batch.data(), batch.lengths.data(),
                                   batch.lengths.size(), kEmailContext, &texts, &size),
            KW_OK)
      << kw_last_error();
  std::string tampered(texts, size);
  kw_free(texts);
  const auto split = split_texts(tampered.data(), tampered.size());
  const size_t third = split[0].size() + split[1].size() + 2;
  tampered[third + split[2].size() - 3] ^= 0x01;  // a byte inside value 2's ciphertext

  const auto decrypt_batch = [&](const std::string& buffer, size_t count, const char* scope,
                                 const char* const* context) {
    unsigned char* values = reinterpret_cast<unsigned char*>(0x1);
    std::vector<size_t> lengths(count, 99);
    const int status = kw_field_decrypt_batch(client_, buffer.data(), buffer.size(), count, scope, context, &values,
                                              lengths.data());
    if (status != KW_OK) {
      EXPECT_EQ(values, nullptr) << "no plaintext on failure";
      EXPECT_EQ(lengths, std::vector<size_t>(count, 0));
    } else {
      kw_free(values);
    }
    return status;
  };
  EXPECT_EQ(decrypt_batch(tampered, 5, "tenant:acme/users/email", kEmailContext), KW_FAILED) << "tampered value 2";
  EXPECT_NE(std::string(kw_last_error()).find("value 2"), std::string::npos) << kw_last_error();

  const std::string good = split[0] + '\0' + split[1] + '\0';
  EXPECT_EQ(decrypt_batch(good, 2, "tenant:acme/users/email", kOtherContext), KW_FAILED) << "wrong context";
  expect_message();
  EXPECT_EQ(decrypt_batch(good, 2, "tenant:acme/users/phone", kEmailContext), KW_FAILED) << "another scope";
  expect_message();
  EXPECT_EQ(decrypt_batch(good, 2, "tenant:acme/users/email", kEmailContext), KW_OK) << kw_last_error();

  // Buffers that do not hold exactly `count` texts are usage errors.
  EXPECT_EQ(decrypt_batch(good, 3, nullptr, kEmailContext), KW_USAGE) << "count too high";
  EXPECT_EQ(decrypt_batch(good, 1, nullptr, kEmailContext), KW_USAGE) << "count too low";
  EXPECT_EQ(decrypt_batch(good.substr(0, good.size() - 1), 2, nullptr, kEmailContext), KW_USAGE) << "no final NUL";
  expect_message();
}

TEST_F(CAbi, BadBatchArgumentsAreUsageErrors) {
  const size_t length = 1;
  char* texts = nullptr;
  size_t size = 0;
  EXPECT_EQ(kw_field_encrypt_batch(client_, "s", "payments", 0, bytes_of("x"), &length, 1, nullptr, nullptr, &size),
            KW_USAGE);
  EXPECT_EQ(kw_field_encrypt_batch(client_, "s", "payments", 0, bytes_of("x"), nullptr, 1, nullptr, &texts, &size),
            KW_USAGE);
  EXPECT_EQ(kw_field_encrypt_batch(client_, "s", "payments", 0, nullptr, &length, 1, nullptr, &texts, &size), KW_USAGE);
  EXPECT_EQ(kw_field_encrypt_batch(client_, "", "payments", 0, bytes_of("x"), &length, 1, nullptr, &texts, &size),
            KW_USAGE);
  EXPECT_EQ(kw_field_encrypt_batch(nullptr, "s", "payments", 0, bytes_of("x"), &length, 1, nullptr, &texts, &size),
            KW_USAGE);
  EXPECT_EQ(texts, nullptr);
  expect_message();
  EXPECT_EQ(kw_field_encrypt_batch(client_, "s", "no-such-kek", 0, bytes_of("x"), &length, 1, nullptr, &texts, &size),
            KW_FAILED)
      << "unknown KEK";
  expect_message();

  unsigned char* values = nullptr;
  size_t lengths[1] = {0};
  EXPECT_EQ(kw_field_decrypt_batch(client_, "x", 2, 1, nullptr, nullptr, nullptr, lengths), KW_USAGE);
  EXPECT_EQ(kw_field_decrypt_batch(client_, "x", 2, 1, nullptr, nullptr, &values, nullptr), KW_USAGE);
  EXPECT_EQ(kw_field_decrypt_batch(client_, nullptr, 2, 1, nullptr, nullptr, &values, lengths), KW_USAGE);
  EXPECT_EQ(kw_field_decrypt_batch(client_, "x", 2, 1, "", nullptr, &values, lengths), KW_USAGE) << "empty scope";
  EXPECT_EQ(kw_field_decrypt_batch(client_, "x", 2, 1, nullptr, nullptr, &values, lengths), KW_FAILED)
      << "not a value text";
  EXPECT_NE(std::string(kw_last_error()).find("value 0"), std::string::npos) << kw_last_error();
  EXPECT_EQ(values, nullptr);
}

TEST(CAbiOpen, BadArgumentsAndTokensFailWithAMessage) {
  ASSERT_NE(keyward::hierarchy::testing::hierarchy_env(), nullptr);
  const auto& token = keyward::testing::test_token();
  EXPECT_EQ(kw_open(token.uri.c_str(), nullptr, nullptr), KW_USAGE) << "NULL out";
  expect_message();

  kw_client* client = reinterpret_cast<kw_client*>(0x1);
  EXPECT_EQ(kw_open("  \t ", nullptr, &client), KW_USAGE) << "blank token list";
  expect_message();
  EXPECT_EQ(client, nullptr) << "*out is NULL on failure";
  EXPECT_EQ(kw_open("not-a-uri", nullptr, &client), KW_USAGE);
  expect_message();
  EXPECT_EQ(kw_open(token.uri.c_str(), "", &client), KW_USAGE) << "empty catalog path";
  expect_message();

  // A wrong PIN cannot be shown here: the process is already logged in to the test token (PKCS#11
  // login state is per application), so an unknown token stands for the infrastructure failures.
  const std::string& uri = token.uri;
  const std::string unknown = "pkcs11:token=no-such-token" + uri.substr(uri.find('?'));
  EXPECT_EQ(kw_open(unknown.c_str(), nullptr, &client), KW_INFRASTRUCTURE) << "no such token";
  expect_message();
  EXPECT_EQ(client, nullptr);
}

TEST(CAbiOpen, NullTokenUrisReadKeywardToken) {
  ASSERT_NE(keyward::hierarchy::testing::hierarchy_env(), nullptr);
  const std::string catalog = fresh_catalog_path("c-abi-env");
  ASSERT_EQ(setenv("KEYWARD_TOKEN", keyward::testing::test_token().uri.c_str(), 1), 0);
  kw_client* client = nullptr;
  EXPECT_EQ(kw_open(nullptr, catalog.c_str(), &client), KW_OK) << kw_last_error();
  unsetenv("KEYWARD_TOKEN");
  ASSERT_NE(client, nullptr);
  char* text = nullptr;
  EXPECT_EQ(kw_field_encrypt(client, "tenant:env", "payments", 0, bytes_of("x"), 1, nullptr, &text), KW_OK) << kw_last_error();
  kw_free(text);
  kw_close(client);

  EXPECT_EQ(kw_open(nullptr, catalog.c_str(), &client), KW_USAGE) << "no $KEYWARD_TOKEN either";
  expect_message();
}

TEST(CAbiMemory, NullIsANoOpForFreeAndClose) {
  kw_free(nullptr);
  kw_close(nullptr);
  ASSERT_NE(kw_last_error(), nullptr);
}

}  // namespace
