// The C ABI's field batches (keyward/keyward_c.h): kw_field_encrypt_batch, kw_field_decrypt_batch.
// One Field lookup and one output allocation per batch, so a binding pays its call cost once for many
// values. All or nothing: a failing value fails the batch and nothing is returned.
#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "keyward/c_api/c_support.h"

using keyward::c_api::fail;
using keyward::c_api::guarded;
using keyward::c_api::out_of_memory;
using keyward::c_api::usage;
using keyward::c_api::WipeOnExit;

namespace {

// Names the failing value in the batch: "value 17: <the error>".
int fail_at(std::size_t index, const keyward::Error& error) {
  return fail(error.with_context("value " + std::to_string(index) + ": "));
}

// True when texts[0, size) is exactly `count` NUL-terminated texts.
bool holds_texts(const char* texts, std::size_t size, std::size_t count) {
  if (size == 0) return count == 0;
  return texts[size - 1] == '\0' && static_cast<std::size_t>(std::count(texts, texts + size, '\0')) == count;
}

// The output of a decrypt batch until it is handed over: a failure (returned or thrown) wipes and
// frees the values decrypted so far and zeroes their lengths.
struct OutputOnFailure {
  unsigned char* bytes;
  std::size_t* lens;
  std::size_t count;
  ~OutputOnFailure() {
    if (bytes == nullptr) return;
    keyward::c_api::release_output(bytes);
    std::memset(lens, 0, count * sizeof *lens);
  }
};

}  // namespace

extern "C" {

int kw_field_encrypt_batch(kw_client* c, const char* scope, const char* kek, int deterministic,
                           const unsigned char* values, const size_t* value_lens, size_t count,
                           const char* const* context, char** out_texts, size_t* out_size) {
  return guarded([&]() -> int {
    if (out_texts == nullptr || out_size == nullptr)
      return usage("kw_field_encrypt_batch: out_texts or out_size is NULL");
    *out_texts = nullptr;
    *out_size = 0;
    if (const int status = keyward::c_api::check_encrypt_arguments("kw_field_encrypt_batch", c, scope, kek);
        status != KW_OK)
      return status;
    if (count != 0 && value_lens == nullptr) return usage("kw_field_encrypt_batch: value_lens is NULL");
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += value_lens[i];
    if (values == nullptr && total != 0) return usage("kw_field_encrypt_batch: values is NULL but the lengths are not 0");

    const auto mode = deterministic != 0 ? keyward::FieldMode::deterministic : keyward::FieldMode::randomized;
    auto field = c->fields.field(c->client, scope, kek, mode, context);
    if (!field) return fail(field.error());

    // Value texts are ciphertext: building them in a std::string exposes nothing.
    std::string texts;
    const unsigned char* value = values;
    for (std::size_t i = 0; i < count; ++i) {
      auto text = (*field)->encrypt(std::span<const std::uint8_t>(value, value_lens[i]));
      if (!text) return fail_at(i, text.error());
      if (i == 0) texts.reserve(count * (text->size() + 1));
      texts.append(*text);
      texts.push_back('\0');
      value += value_lens[i];
    }

    auto* output = static_cast<char*>(keyward::c_api::allocate_output(texts.size() + 1));
    if (output == nullptr) return out_of_memory();
    std::memcpy(output, texts.data(), texts.size());
    output[texts.size()] = '\0';  // an empty batch is still a valid, non-NULL buffer
    *out_texts = output;
    *out_size = texts.size();
    return KW_OK;
  });
}

int kw_field_decrypt_batch(kw_client* c, const char* texts, size_t texts_size, size_t count, const char* scope,
                           const char* const* context, unsigned char** out_values, size_t* out_lens) {
  return guarded([&]() -> int {
    if (out_values == nullptr) return usage("kw_field_decrypt_batch: out_values is NULL");
    *out_values = nullptr;
    if (count != 0 && out_lens == nullptr) return usage("kw_field_decrypt_batch: out_lens is NULL");
    if (count != 0) std::memset(out_lens, 0, count * sizeof *out_lens);
    if (const int status = keyward::c_api::check_decrypt_arguments("kw_field_decrypt_batch", c, scope); status != KW_OK)
      return status;
    if (texts == nullptr && texts_size != 0) return usage("kw_field_decrypt_batch: texts is NULL");
    if (!holds_texts(texts, texts_size, count))
      return usage("kw_field_decrypt_batch: texts does not hold exactly " + std::to_string(count) +
                   " NUL-terminated value texts in texts_size bytes");

    auto field = c->fields.field(c->client, scope, nullptr, keyward::FieldMode::randomized, context);
    if (!field) return fail(field.error());

    // A value is shorter than its text, so texts_size bounds the values' total: one allocation, and
    // each value is copied once, from the decryption's (wiped) buffer into the output.
    OutputOnFailure output{static_cast<unsigned char*>(keyward::c_api::allocate_output(texts_size + 1)), out_lens, count};
    if (output.bytes == nullptr) return out_of_memory();
    std::size_t written = 0;
    const char* text = texts;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t text_size = std::strlen(text);
      auto plain = (*field)->decrypt(std::string_view(text, text_size));
      if (!plain) return fail_at(i, plain.error());
      WipeOnExit wipe{plain->value};
      if (plain->value.size() > texts_size - written)  // cannot happen: a value never outgrows its text
        return fail_at(i, keyward::Error{keyward::ErrorCategory::internal, "a value longer than its text", {}});
      if (!plain->value.empty()) std::memcpy(output.bytes + written, plain->value.data(), plain->value.size());
      written += plain->value.size();
      out_lens[i] = plain->value.size();
      text += text_size + 1;
    }
    *out_values = std::exchange(output.bytes, nullptr);
    return KW_OK;
  });
}

}  // extern "C"
