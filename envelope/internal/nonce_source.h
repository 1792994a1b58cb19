// Random 96-bit AEAD nonces, cheaply: RAND_bytes per call costs about 2 µs on this machine (more
// than the AES-GCM it feeds), so each thread draws 4 KiB at a time and hands out 12-byte slices.
// A forked child discards the parent's buffer (a nonce must never be used twice under one key):
// a pthread_atfork handler marks every buffer filled before the fork as stale.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.h"

namespace keyward::envelope {

Status fill_nonce(std::span<std::uint8_t> out);

}  // namespace keyward::envelope
