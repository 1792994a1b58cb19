// The zero-copy segment pipeline (issue 10: read into the segment's buffer, seal or open in place,
// writev per batch) through pipes: short reads, partial writes to a slow reader, sizes around batch
// boundaries, and tampering or truncation at every position of a batch still caught.
#include "envelope/internal/segment_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "envelope/stream.h"
#include "tests/envelope/envelope_test_support.h"

namespace keyward::envelope {
namespace {

using namespace testing;
constexpr std::uint32_t kSeg = kMinSegmentSize;

// Runs `work(in_fd, out_fd)` with `input` fed through one pipe in odd-sized pieces and the output
// drained from another by a reader taking 1000 bytes at a time (so writev is often partial).
template <class Work>
auto through_pipes(const std::vector<std::uint8_t>& input, std::vector<std::uint8_t>& out_bytes, Work&& work) {
  int in_pipe[2], out_pipe[2];
  EXPECT_EQ(::pipe(in_pipe), 0);
  EXPECT_EQ(::pipe(out_pipe), 0);
  std::thread feeder([&] {
    std::size_t at = 0, piece = 1;
    while (at < input.size()) {
      const std::size_t n = std::min(input.size() - at, piece);
      if (::write(in_pipe[1], input.data() + at, n) != static_cast<ssize_t>(n)) break;
      at += n;
      piece = piece * 7 % 65521 + 1;  // 1, 8, 57, ...: never aligned to a segment
    }
    ::close(in_pipe[1]);
  });
  std::thread drain([&] {
    std::uint8_t buffer[1000];
    for (ssize_t n; (n = ::read(out_pipe[0], buffer, sizeof buffer)) > 0;) out_bytes.insert(out_bytes.end(), buffer, buffer + n);
  });
  auto result = work(in_pipe[0], out_pipe[1]);
  ::close(out_pipe[1]);
  ::close(in_pipe[0]);  // a failed decrypt may stop reading early: the feeder then sees EPIPE
  feeder.join();
  drain.join();
  ::close(out_pipe[0]);
  return result;
}

std::vector<std::uint8_t> encrypt_piped(const std::vector<std::uint8_t>& plain, const SecretBytes& dek, unsigned threads) {
  std::vector<std::uint8_t> envelope;
  DataKey key{dek.clone(), DekId{}, sample_section()};
  auto written = through_pipes(plain, envelope, [&](int in, int out) {
    return encrypt_stream(in, out, key, {}, EncryptOptions{kSeg, threads});
  });
  EXPECT_TRUE(written) << written.error().message;
  if (written) {
    EXPECT_EQ(*written, plain.size());
  }
  return envelope;
}

Result<DecryptSummary> decrypt_piped(const std::vector<std::uint8_t>& envelope, const SecretBytes& dek, unsigned threads,
                                     std::vector<std::uint8_t>& out) {
  return through_pipes(envelope, out, [&](int in, int out_fd) {
    return decrypt_stream(in, out_fd, {}, [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); }, threads);
  });
}

TEST(SegmentPipeline, RoundTripsThroughPipesAroundBatchBoundaries) {
  ::signal(SIGPIPE, SIG_IGN);
  auto dek = random_key();
  for (unsigned threads : {1u, 2u, 3u}) {
    const std::size_t batch = threads * kSegmentsPerWorker;
    for (std::size_t segments : {std::size_t{1}, batch - 1, batch, batch + 1, 3 * batch, 3 * batch + 1, 7 * batch + 2}) {
      for (long delta : {-1L, 0L, 1L}) {
        const auto size = static_cast<std::size_t>(static_cast<long>(segments * kSeg) + delta);
        auto plain = random_bytes(size);
        auto envelope = encrypt_piped(plain, dek, threads);
        std::vector<std::uint8_t> back;
        auto summary = decrypt_piped(envelope, dek, threads, back);
        ASSERT_TRUE(summary) << threads << " threads, " << size << " bytes: " << summary.error().message;
        EXPECT_EQ(summary->plaintext_bytes, size);
        EXPECT_EQ(back, plain) << threads << " threads, " << size << " bytes";
        // The same envelope from a file decrypts the same (the pipeline does not depend on short reads).
        auto from_file = decrypt_bytes(envelope, dek, {}, threads);
        ASSERT_TRUE(from_file);
        EXPECT_EQ(*from_file, plain);
      }
    }
  }
}

TEST(SegmentPipeline, TamperingAtEveryPositionOfABatchIsCaughtAndNothingOfItIsWritten) {
  ::signal(SIGPIPE, SIG_IGN);
  auto dek = random_key();
  for (unsigned threads : {1u, 2u}) {
    const std::size_t batch = threads * kSegmentsPerWorker, segments = 4 * batch + 1;
    auto plain = random_bytes(segments * kSeg - 5);
    auto envelope = encrypt_piped(plain, dek, threads);
    const auto prefix = parse_prefix(envelope);
    ASSERT_TRUE(prefix);
    const std::size_t chunk = kSeg + kTagBytes;
    for (std::size_t bad = 0; bad < segments; ++bad) {
      for (std::size_t offset : {std::size_t{0}, std::size_t{kSeg / 2}, chunk - 1}) {  // data, middle, tag
        if (bad == segments - 1 && offset >= kSeg - 5 + kTagBytes) continue;  // past the short last segment
        auto broken = envelope;
        broken[prefix->body_offset() + bad * chunk + offset] ^= 0x80;
        std::vector<std::uint8_t> out;
        auto summary = decrypt_piped(broken, dek, threads, out);
        ASSERT_FALSE(summary) << "segment " << bad << " offset " << offset << " threads " << threads;
        EXPECT_EQ(summary.error().category, ErrorCategory::authentication);
        EXPECT_LE(out.size(), bad / batch * batch * kSeg) << "plaintext of the failing batch was released";
        EXPECT_TRUE(std::equal(out.begin(), out.end(), plain.begin())) << "what was released is verified plaintext";
      }
    }
  }
}

TEST(SegmentPipeline, TruncationAtAndAroundBatchBoundariesIsCaught) {
  ::signal(SIGPIPE, SIG_IGN);
  auto dek = random_key();
  const unsigned threads = 2;
  const std::size_t batch = threads * kSegmentsPerWorker, segments = 3 * batch;
  auto plain = random_bytes(segments * kSeg);
  auto envelope = encrypt_piped(plain, dek, threads);
  const auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  const std::size_t chunk = kSeg + kTagBytes;
  for (std::size_t keep : {batch, 2 * batch, 2 * batch - 1, segments - 1}) {
    for (long delta : {-1L, 0L, 1L, 17L}) {
      const auto cut = static_cast<std::size_t>(static_cast<long>(prefix->body_offset() + keep * chunk) + delta);
      std::vector<std::uint8_t> truncated(envelope.begin(), envelope.begin() + static_cast<long>(cut));
      std::vector<std::uint8_t> out;
      auto summary = decrypt_piped(truncated, dek, threads, out);
      ASSERT_FALSE(summary) << "kept " << keep << " segments " << delta;
      EXPECT_TRUE(std::equal(out.begin(), out.end(), plain.begin()));
      EXPECT_LT(out.size(), plain.size());
    }
  }
}

}  // namespace
}  // namespace keyward::envelope
