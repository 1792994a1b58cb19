// Shamir's secret sharing (Shamir 1979) over GF(2^8), the AES field (FIPS 197 §4.2).
//
// Each byte of the secret is the constant term of its own random polynomial of degree M-1; share i
// holds the polynomials' values at x = i (1..N). Any M shares give the secret by Lagrange
// interpolation at x = 0; fewer reveal nothing about it. Arithmetic is constant-time: no table is
// indexed by secret data.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::ceremony {

struct Share {
  std::uint8_t index = 0;  // x-coordinate, 1..255
  SecretBytes value;       // one byte per secret byte
};

// Fills its argument with random bytes (the token's RNG in a ceremony, OpenSSL's in tests).
using RandomSource = std::function<Status(std::span<std::uint8_t>)>;

// Splits `secret` into `count` shares, any `threshold` of which recombine it (2 ≤ threshold ≤ count ≤ 255).
Result<std::vector<Share>> split_secret(const SecretBytes& secret, unsigned threshold, unsigned count,
                                        const RandomSource& random);

// Recombines shares (exactly the ones given; give at least the threshold). Errors: usage for
// duplicate or zero indices or mismatched lengths.
Result<SecretBytes> combine_shares(const std::vector<const Share*>& shares);

// GF(2^8) arithmetic, exposed for known-answer tests.
std::uint8_t gf256_multiply(std::uint8_t a, std::uint8_t b);
std::uint8_t gf256_inverse(std::uint8_t a);  // inverse(0) = 0

}  // namespace keyward::ceremony
