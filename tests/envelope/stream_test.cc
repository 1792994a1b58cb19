// Streaming envelopes: round trips and every way of breaking one.
#include "envelope/stream.h"

#include <gtest/gtest.h>

#include "envelope/envelope_file.h"
#include "envelope/key_slots.h"
#include "envelope/internal/segment_cipher.h"
#include "envelope/internal/segment_pipeline.h"
#include "tests/envelope/envelope_test_support.h"

namespace keyward::envelope {
namespace {

using namespace testing;
constexpr std::uint32_t kSeg = kMinSegmentSize;

TEST(Stream, RoundTripsAtBoundarySizesWithOneAndFourThreads) {
  auto dek = random_key();
  EncryptionContext context{{"tenant", "acme"}, {"purpose", "test"}};
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{kSeg - 1}, std::size_t{kSeg}, std::size_t{kSeg + 1},
                           std::size_t{3 * kSeg}, std::size_t{5 * 1024 * 1024 + 7}}) {
    for (unsigned threads : {1u, 4u}) {
      auto plain = random_bytes(size);
      auto envelope = encrypt_bytes(plain, dek, context, kSeg, threads);
      auto back = decrypt_bytes(envelope, dek, context, threads);
      ASSERT_TRUE(back) << size << "/" << threads << ": " << back.error().message;
      EXPECT_EQ(*back, plain) << size << "/" << threads;
    }
  }
}

TEST(Stream, EverySingleByteFlipIsRejectedExceptInTheInactiveSlot) {
  auto dek = random_key();
  EncryptionContext context{{"k", "v"}};
  auto plain = random_bytes(kSeg + 100);  // two segments
  auto envelope = encrypt_bytes(plain, dek, context);
  auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  const std::size_t inactive_from = prefix->header_bytes + 1 + kSlotBytes;  // slot 1 (slot 0 active)
  const std::size_t inactive_to = inactive_from + kSlotBytes;
  std::size_t rejected = 0, ignored = 0;
  for (std::size_t i = 0; i < envelope.size(); ++i) {
    auto bad = envelope;
    bad[i] ^= 0x01;
    auto result = decrypt_bytes(bad, dek, context);
    if (i >= inactive_from && i < inactive_to) {
      ASSERT_TRUE(result) << "byte " << i << " is in the ignored inactive slot";
      EXPECT_EQ(*result, plain);
      ++ignored;
    } else {
      EXPECT_FALSE(result) << "flip at byte " << i << " was accepted";
      ++rejected;
    }
  }
  EXPECT_EQ(ignored, kSlotBytes);
  EXPECT_EQ(rejected + ignored, envelope.size());
}

TEST(Stream, TruncationAtEverySegmentBoundaryAndAppendingAreRejected) {
  auto dek = random_key();
  EncryptionContext context;
  auto plain = random_bytes(4 * kSeg + 10);
  auto envelope = encrypt_bytes(plain, dek, context);
  auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  const std::size_t chunk = kSeg + kTagBytes;
  for (std::size_t segments = 0; segments <= 4; ++segments) {
    std::vector<std::uint8_t> cut(envelope.begin(), envelope.begin() + static_cast<long>(prefix->body_offset() + segments * chunk));
    auto result = decrypt_bytes(cut, dek, context);
    ASSERT_FALSE(result) << "truncated after " << segments << " segments";
    EXPECT_EQ(result.error().category, segments == 0 ? ErrorCategory::authentication : ErrorCategory::authentication);
  }
  auto cut_inside = envelope;
  cut_inside.resize(envelope.size() - 5);
  EXPECT_FALSE(decrypt_bytes(cut_inside, dek, context));
  // Appending a copy of a middle segment after the real last one.
  auto appended = envelope;
  appended.insert(appended.end(), envelope.begin() + static_cast<long>(prefix->body_offset()),
                  envelope.begin() + static_cast<long>(prefix->body_offset() + chunk));
  EXPECT_FALSE(decrypt_bytes(appended, dek, context));
}

TEST(Stream, ReorderedSegmentsAreRejected) {
  auto dek = random_key();
  auto plain = random_bytes(3 * kSeg);
  auto envelope = encrypt_bytes(plain, dek, {});
  auto prefix = parse_prefix(envelope);
  const std::size_t chunk = kSeg + kTagBytes, body = prefix->body_offset();
  auto swapped = envelope;
  std::swap_ranges(swapped.begin() + static_cast<long>(body), swapped.begin() + static_cast<long>(body + chunk),
                   swapped.begin() + static_cast<long>(body + chunk));
  auto result = decrypt_bytes(swapped, dek, {});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("segment 0"), std::string::npos) << result.error().message;
}

TEST(Stream, StreamedOutputStopsBeforeTheBatchWithABadSegment) {
  // Decrypting to a stream (stdout) writes verified segments as it goes, on an I/O thread that runs
  // one batch behind the cryptography: what comes out must be a verified prefix, nothing of or after
  // the batch that failed.
  auto dek = random_key();
  auto plain = random_bytes(100 * kSeg);
  auto envelope = encrypt_bytes(plain, dek, {}, kSeg, 2);
  auto prefix = parse_prefix(envelope);
  const std::size_t chunk = kSeg + kTagBytes, bad_segment = 45;
  const std::size_t batch = 2 * kSegmentsPerWorker, batch_start = bad_segment / batch * batch;  // threads 2
  envelope[prefix->body_offset() + bad_segment * chunk + 100] ^= 0x01;
  TempFile in(envelope), out;
  auto result = decrypt_stream(in.fd(), out.fd(), {}, [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); }, 2);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("segment 45"), std::string::npos) << result.error().message;
  auto written = out.contents();
  EXPECT_LE(written.size(), batch_start * kSeg) << "nothing of the failing batch was written";
  EXPECT_TRUE(std::equal(written.begin(), written.end(), plain.begin())) << "what was written is verified plaintext";
}

TEST(Stream, WrongOrMissingContextIsRejected) {
  auto dek = random_key();
  auto envelope = encrypt_bytes(random_bytes(100), dek, {{"tenant", "acme"}});
  EXPECT_FALSE(decrypt_bytes(envelope, dek, {}));
  EXPECT_FALSE(decrypt_bytes(envelope, dek, {{"tenant", "other"}}));
  EXPECT_FALSE(decrypt_bytes(envelope, dek, {{"tenant", "acme"}, {"extra", "x"}}));
  auto result = decrypt_bytes(envelope, dek, {{"tenant", "evil"}});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("context mismatch"), std::string::npos);
  EXPECT_EQ(result.error().message.find("acme"), std::string::npos) << "values are not echoed";
}

TEST(Stream, KeySectionSwappedFromAnotherEnvelopeIsRejectedByTheCommitment) {
  // Two envelopes under different DEKs; the attacker moves B's key section into A. The resolver
  // then yields B's DEK for A's body: the commitment must refuse it before any decryption.
  auto dek_a = random_key(), dek_b = random_key();
  auto a = encrypt_bytes(random_bytes(500), dek_a, {}, kSeg, 1, sample_section(1));
  auto b = encrypt_bytes(random_bytes(500), dek_b, {}, kSeg, 1, sample_section(2));
  auto pa = parse_prefix(a), pb = parse_prefix(b);
  ASSERT_TRUE(pa && pb);
  std::copy(b.begin() + static_cast<long>(pb->header_bytes), b.begin() + static_cast<long>(pb->body_offset()),
            a.begin() + static_cast<long>(pa->header_bytes));
  TempFile in(a), out;
  auto result = decrypt_stream(in.fd(), out.fd(), {}, [&](const ParsedPrefix& prefix) -> Result<SecretBytes> {
    return prefix.key_section.kek_version == 2 ? dek_b.clone() : dek_a.clone();
  });
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("key commitment mismatch"), std::string::npos) << result.error().message;
  EXPECT_TRUE(out.contents().empty()) << "no plaintext before the commitment check";
}

TEST(Stream, FailedDecryptionToAFileLeavesNoFile) {
  auto dek = random_key();
  auto envelope = encrypt_bytes(random_bytes(3 * kSeg), dek, {});
  envelope[envelope.size() - 3] ^= 1;
  TempFile in(envelope);
  const std::string out = keyward::testing::scratch_dir("envelopes") + "/should-not-exist";
  auto result = decrypt_file_atomically(in.path(), out, {}, [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); });
  ASSERT_FALSE(result);
  EXPECT_NE(::access(out.c_str(), F_OK), 0);
}

TEST(Stream, RandomAccessRangesEqualTheSlice) {
  auto dek = random_key();
  auto plain = random_bytes(5 * kSeg + 321);
  auto envelope = encrypt_bytes(plain, dek, {{"a", "b"}});
  TempFile file(envelope);
  auto resolver = [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); };
  for (auto [offset, length] : {std::pair<std::size_t, std::size_t>{0, 10}, {kSeg - 3, 7}, {2 * kSeg, kSeg},
                                {kSeg + 5, 3 * kSeg}, {plain.size() - 10, 10}, {plain.size(), 0}, {0, plain.size()}}) {
    auto range = decrypt_range(file.fd(), offset, length, {{"a", "b"}}, resolver);
    ASSERT_TRUE(range) << offset << "+" << length << ": " << range.error().message;
    EXPECT_TRUE(std::equal(range->reveal().begin(), range->reveal().end(), plain.begin() + static_cast<long>(offset)));
  }
  EXPECT_FALSE(decrypt_range(file.fd(), plain.size() - 1, 2, {{"a", "b"}}, resolver));
}

// Issue 9: an input cut anywhere before the body used to spin forever in the prefix reader (ctest's
// TIMEOUT on envelope.softhsm is the watchdog). Every length must end, as "truncated".
TEST(Stream, EveryCutBeforeTheBodyEndsAsTruncated) {
  auto dek = random_key();
  EncryptionContext context{{"tenant", "acme"}};
  auto envelope = encrypt_bytes(random_bytes(kSeg + 5), dek, context);
  auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  for (std::size_t length = 0; length < prefix->body_offset(); ++length) {
    std::vector<std::uint8_t> cut(envelope.begin(), envelope.begin() + static_cast<long>(length));
    auto streamed = decrypt_bytes(cut, dek, context);
    ASSERT_FALSE(streamed) << length;
    EXPECT_EQ(exit_code_for(streamed.error().category), 1) << length;
    EXPECT_NE(streamed.error().message.find("truncated"), std::string::npos) << length << ": " << streamed.error().message;
    TempFile file(cut);
    auto read = read_prefix(file.fd());  // the pread path (inspect, rotation)
    ASSERT_FALSE(read) << length;
    EXPECT_NE(read.error().message.find("truncated"), std::string::npos) << length << ": " << read.error().message;
    EXPECT_FALSE(read_envelope_prefix(file.path())) << length;
  }
}

TEST(Stream, ACutPrefixThroughAPipeEndsAsTruncated) {
  // A pipe (stdin) takes the read() path of the prefix reader.
  auto envelope = encrypt_bytes(random_bytes(100), random_key(), {});
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{5}, kFixedHeaderBytes, kFixedHeaderBytes + kKeyAreaBytes,
                             parse_prefix(envelope)->body_offset() - 1}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_EQ(::write(fds[1], envelope.data(), length), static_cast<ssize_t>(length));
    ::close(fds[1]);
    TempFile out;
    auto result = decrypt_stream(fds[0], out.fd(), {}, [](const ParsedPrefix&) { return Result<SecretBytes>(random_key()); });
    ::close(fds[0]);
    ASSERT_FALSE(result) << length;
    EXPECT_NE(result.error().message.find("truncated"), std::string::npos) << length << ": " << result.error().message;
  }
}

// docs/FORMAT.md: the final segment holds 1..S bytes unless the plaintext is empty, so a plaintext
// of a whole number of segments ends with a full final segment and nothing after it.
TEST(Stream, AWholeNumberOfSegmentsEndsWithAFullFinalSegment) {
  auto dek = random_key();
  auto plain = random_bytes(3 * kSeg);
  auto envelope = encrypt_bytes(plain, dek, {});
  auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  EXPECT_EQ(envelope.size(), prefix->body_offset() + 3 * (kSeg + kTagBytes)) << "no empty final segment is written";
  auto back = decrypt_bytes(envelope, dek, {});
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, plain);
}

// The same plaintext, hand-built with an empty final segment after the full ones (every tag valid):
// not the one canonical encoding, refused by the streaming and the random-access decoder.
TEST(Stream, AnEmptyFinalSegmentAfterFullOnesIsRefused) {
  auto dek = random_key();
  auto plain = random_bytes(2 * kSeg);
  auto envelope = encrypt_bytes(plain, dek, {});
  auto prefix = parse_prefix(envelope);
  ASSERT_TRUE(prefix);
  auto key = derive_segment_key(dek, prefix->header.salt);
  ASSERT_TRUE(key);
  auto cipher = SegmentCipher::create(*key, prefix->header.nonce_prefix,
                                      header_hash(std::span(envelope.data(), prefix->header_bytes)));
  ASSERT_TRUE(cipher);
  const std::size_t chunk = kSeg + kTagBytes, second = prefix->body_offset() + chunk;
  // Segment 1 resealed as not-final, then an empty segment 2 sealed as final.
  std::vector<std::uint8_t> resealed(chunk), empty_final(kTagBytes);
  ASSERT_TRUE(cipher->seal(1, false, std::span(plain).subspan(kSeg), resealed));
  ASSERT_TRUE(cipher->seal(2, true, {}, empty_final));
  auto built = envelope;
  std::copy(resealed.begin(), resealed.end(), built.begin() + static_cast<long>(second));
  built.insert(built.end(), empty_final.begin(), empty_final.end());

  auto result = decrypt_bytes(built, dek, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(exit_code_for(result.error().category), 1);
  EXPECT_NE(result.error().message.find("empty final segment"), std::string::npos) << result.error().message;
  TempFile file(built);
  auto resolver = [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); };
  auto range = decrypt_range(file.fd(), 0, 10, {}, resolver);
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().message.find("empty final segment"), std::string::npos) << range.error().message;
  // Control: the envelope as encrypted (full final segment) decrypts both ways.
  EXPECT_TRUE(decrypt_bytes(envelope, dek, {}));
  TempFile good(envelope);
  EXPECT_TRUE(decrypt_range(good.fd(), 0, 10, {}, resolver));
}

TEST(Stream, AnEmptyContextKeyIsRefusedByTheEncoderAndTheDecoder) {
  auto dek = random_key();
  TempFile in(random_bytes(10)), out;
  auto sealed = encrypt_stream(in.fd(), out.fd(), DataKey{std::move(dek), DekId{}, sample_section()}, {{"", "value"}});
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().category, ErrorCategory::usage);
  EXPECT_NE(sealed.error().message.find("may not be empty"), std::string::npos) << sealed.error().message;
  EXPECT_TRUE(out.contents().empty()) << "nothing written";
  // A hand-built context with an empty key (u16 n = 1, u16 0, u32 1, "v") does not decode.
  const std::vector<std::uint8_t> empty_key{0, 1, 0, 0, 0, 0, 0, 1, 'v'};
  auto decoded = decode_context(empty_key);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().category, ErrorCategory::corrupt_input);
  // Control: a one-byte key decodes.
  EXPECT_TRUE(decode_context(std::vector<std::uint8_t>{0, 1, 0, 1, 'k', 0, 0, 0, 1, 'v'}));
}

TEST(KeySlots, InPlaceReplacementIsCrashSafeAndLeavesTheBodyAlone) {
  auto dek = random_key();
  auto plain = random_bytes(2 * kSeg);
  auto envelope = encrypt_bytes(plain, dek, {}, kSeg, 1, sample_section(1));
  TempFile file(envelope);
  auto body_before = std::vector<std::uint8_t>(envelope.begin() + static_cast<long>(parse_prefix(envelope)->body_offset()), envelope.end());

  // Crash after step 1: the new slot is written, the switch not flipped — the old section rules.
  ASSERT_TRUE(write_inactive_slot_only(file.path(), sample_section(2)));
  auto prefix = read_envelope_prefix(file.path());
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->key_section, sample_section(1));
  // A torn (garbage) inactive slot changes nothing either.
  auto torn = file.contents();
  torn[prefix->header_bytes + 1 + kSlotBytes + 5] ^= 0xFF;
  EXPECT_TRUE(parse_prefix(torn));

  // The full replacement, then a rerun (idempotent).
  ASSERT_TRUE(replace_key_section_in_place(file.path(), sample_section(2)));
  ASSERT_TRUE(replace_key_section_in_place(file.path(), sample_section(2)));
  prefix = read_envelope_prefix(file.path());
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->key_section, sample_section(2));
  EXPECT_EQ(prefix->active_slot, 1);
  auto after = file.contents();
  EXPECT_EQ(std::vector<std::uint8_t>(after.begin() + static_cast<long>(prefix->body_offset()), after.end()), body_before);
  auto back = decrypt_bytes(after, dek, {});
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, plain);
  // A racing writer that expected the old section loses cleanly.
  auto old_section = sample_section(1);
  EXPECT_FALSE(replace_key_section_in_place(file.path(), sample_section(3), &old_section));
}

}  // namespace
}  // namespace keyward::envelope
