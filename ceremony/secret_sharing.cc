#include "ceremony/secret_sharing.h"

#include <set>

namespace keyward::ceremony {

std::uint8_t gf256_multiply(std::uint8_t a, std::uint8_t b) {
  // Russian-peasant multiplication modulo x^8+x^4+x^3+x+1 with masks instead of branches.
  unsigned product = 0, x = a, y = b;
  for (int bit = 0; bit < 8; ++bit) {
    product ^= x & (0u - (y & 1u));
    const unsigned carry = 0u - ((x >> 7) & 1u);
    x = ((x << 1) ^ (0x1Bu & carry)) & 0xFFu;
    y >>= 1;
  }
  return static_cast<std::uint8_t>(product);
}

std::uint8_t gf256_inverse(std::uint8_t a) {
  // a^254 = a^-1 in GF(2^8) (a^255 = 1); square-and-multiply over a fixed exponent.
  std::uint8_t result = 1, base = a;
  for (unsigned exponent = 254; exponent != 0; exponent >>= 1) {
    const std::uint8_t multiplied = gf256_multiply(result, base);
    const std::uint8_t mask = static_cast<std::uint8_t>(0u - (exponent & 1u));
    result = static_cast<std::uint8_t>((multiplied & mask) | (result & ~mask));
    base = gf256_multiply(base, base);
  }
  return result;
}

Result<std::vector<Share>> split_secret(const SecretBytes& secret, unsigned threshold, unsigned count,
                                        const RandomSource& random) {
  if (threshold < 2 || threshold > count || count > 255)
    return make_error(ErrorCategory::usage, "shares need 2 <= threshold <= shares <= 255 (got threshold " +
                                                std::to_string(threshold) + ", shares " + std::to_string(count) + ")");
  if (secret.empty()) return make_error(ErrorCategory::usage, "cannot split an empty secret");
  // coefficients[k * size + j]: coefficient of x^(k+1) for secret byte j.
  SecretBytes coefficients((threshold - 1) * secret.size());
  KW_TRY(random(coefficients.reveal_mutable()));
  std::vector<Share> shares;
  for (unsigned i = 1; i <= count; ++i) {
    Share share{static_cast<std::uint8_t>(i), SecretBytes(secret.size())};
    for (std::size_t j = 0; j < secret.size(); ++j) {
      // Horner's rule from the highest coefficient down to the secret byte.
      std::uint8_t value = 0;
      for (unsigned k = threshold - 1; k >= 1; --k)
        value = static_cast<std::uint8_t>(gf256_multiply(value, share.index) ^ coefficients.reveal()[(k - 1) * secret.size() + j]);
      value = static_cast<std::uint8_t>(gf256_multiply(value, share.index) ^ secret.reveal()[j]);
      share.value.reveal_mutable()[j] = value;
    }
    shares.push_back(std::move(share));
  }
  return shares;
}

Result<SecretBytes> combine_shares(const std::vector<const Share*>& shares) {
  if (shares.size() < 2) return make_error(ErrorCategory::usage, "at least two shares are needed");
  const std::size_t size = shares.front()->value.size();
  std::set<std::uint8_t> seen;
  for (const Share* share : shares) {
    if (share->index == 0) return make_error(ErrorCategory::usage, "share index 0 is invalid");
    if (!seen.insert(share->index).second)
      return make_error(ErrorCategory::usage, "share " + std::to_string(share->index) + " is given twice");
    if (share->value.size() != size) return make_error(ErrorCategory::usage, "shares have different lengths");
  }
  SecretBytes secret(size);
  for (std::size_t i = 0; i < shares.size(); ++i) {
    // Lagrange basis at x = 0: prod_{j != i} x_j / (x_j - x_i); subtraction is XOR in GF(2^8).
    std::uint8_t basis = 1;
    for (std::size_t j = 0; j < shares.size(); ++j) {
      if (i == j) continue;
      const std::uint8_t xi = shares[i]->index, xj = shares[j]->index;
      basis = gf256_multiply(basis, gf256_multiply(xj, gf256_inverse(static_cast<std::uint8_t>(xj ^ xi))));
    }
    for (std::size_t b = 0; b < size; ++b)
      secret.reveal_mutable()[b] ^= gf256_multiply(basis, shares[i]->value.reveal()[b]);
  }
  return secret;
}

}  // namespace keyward::ceremony
