// Field operations on 64-byte values with the DEK already in memory (a cache hit), next to a raw
// EVP AES-256-GCM 64-byte seal (random nonce, AAD, data, tag) measured in the same run.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "envelope/field.h"

namespace {

using namespace keyward;

const envelope::FieldKey& field_key() {
  static const envelope::FieldKey key = [] {
    SecretBytes dek(32);
    RAND_bytes(dek.reveal_mutable().data(), 32);
    return *envelope::FieldKey::derive(dek, envelope::DekId{});
  }();
  return key;
}

// Encoded once per column, as an application does for (table, column).
const envelope::EncodedContext& context() {
  static const envelope::EncodedContext c(envelope::EncryptionContext{{"table", "users"}, {"column", "email"}});
  return c;
}

void BM_FieldEncrypt(benchmark::State& state) {
  const auto suite = static_cast<envelope::FieldSuite>(state.range(0));
  std::vector<std::uint8_t> value(64, 'x');
  for (auto _ : state) {
    auto text = field_key().encrypt(value, suite, context());
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FieldDecrypt(benchmark::State& state) {
  const auto suite = static_cast<envelope::FieldSuite>(state.range(0));
  std::vector<std::uint8_t> value(64, 'x');
  const std::string text = *field_key().encrypt(value, suite, context());
  for (auto _ : state) {  // text in, plaintext out: parsing included
    auto plain = field_key().decrypt(*envelope::parse_field(text), context());
    benchmark::DoNotOptimize(plain);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawEvpGcm64(benchmark::State& state) {
  SecretBytes key(32);
  RAND_bytes(key.reveal_mutable().data(), 32);
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex2(ctx, gcm, key.reveal().data(), nullptr, nullptr);
  std::vector<std::uint8_t> plain(64, 'x'), out(80), iv(12), aad(40, 1);
  int length = 0;
  for (auto _ : state) {
    RAND_bytes(iv.data(), 12);
    EVP_EncryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr);
    EVP_EncryptUpdate(ctx, nullptr, &length, aad.data(), 40);
    EVP_EncryptUpdate(ctx, out.data(), &length, plain.data(), 64);
    EVP_EncryptFinal_ex(ctx, out.data() + length, &length);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + 64);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(gcm);
}

BENCHMARK(BM_FieldEncrypt)->Arg(1)->Arg(2)->ArgName("suite");
BENCHMARK(BM_FieldDecrypt)->Arg(1)->Arg(2)->ArgName("suite");
BENCHMARK(BM_RawEvpGcm64);

}  // namespace

BENCHMARK_MAIN();
