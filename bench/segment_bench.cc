// Segment encryption throughput (AES-256-GCM on the CPU) at 64 B … 1 MiB, next to raw EVP
// AES-256-GCM doing the same per-segment work (IV + AAD + data + tag) in the same run.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "envelope/internal/segment_cipher.h"

namespace {

using namespace keyward;

SecretBytes random_key() {
  SecretBytes key(32);
  RAND_bytes(key.reveal_mutable().data(), 32);
  return key;
}

void BM_SegmentSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto key = random_key();
  std::array<std::uint8_t, envelope::kNoncePrefixBytes> prefix{};
  std::array<std::uint8_t, 32> aad{};
  auto cipher = envelope::SegmentCipher::create(key, prefix, aad);
  std::vector<std::uint8_t> plain(size, 0x42), out(size + envelope::kTagBytes);
  std::uint32_t index = 0;
  for (auto _ : state) {
    if (!cipher->seal(index++, false, plain, out)) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

void BM_RawEvpGcm(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto key = random_key();
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex2(ctx, gcm, key.reveal().data(), nullptr, nullptr);
  std::vector<std::uint8_t> plain(size, 0x42), out(size + 16), iv(12, 1), aad(32, 2);
  int length = 0;
  for (auto _ : state) {
    EVP_EncryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr);
    EVP_EncryptUpdate(ctx, nullptr, &length, aad.data(), 32);
    EVP_EncryptUpdate(ctx, out.data(), &length, plain.data(), static_cast<int>(size));
    EVP_EncryptFinal_ex(ctx, out.data() + length, &length);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + size);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(gcm);
}

BENCHMARK(BM_SegmentSeal)->RangeMultiplier(4)->Range(64, 1 << 20);
BENCHMARK(BM_RawEvpGcm)->RangeMultiplier(4)->Range(64, 1 << 20);

}  // namespace

BENCHMARK_MAIN();
