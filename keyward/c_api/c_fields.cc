// The C ABI's field calls (keyward/keyward_c.h): kw_field_encrypt, kw_field_decrypt.
#include <cstring>
#include <span>
#include <string>

#include "keyward/c_api/c_support.h"

using keyward::c_api::fail;
using keyward::c_api::out_of_memory;
using keyward::c_api::WipeOnExit;
using keyward::c_api::guarded;
using keyward::c_api::usage;

extern "C" {

int kw_field_encrypt(kw_client* c, const char* scope, const char* kek, int deterministic, const unsigned char* value,
                     size_t value_len, const char* const* context, char** out_text) {
  return guarded([&]() -> int {
    if (out_text == nullptr) return usage("kw_field_encrypt: out_text is NULL");
    *out_text = nullptr;
    if (const int status = keyward::c_api::check_encrypt_arguments("kw_field_encrypt", c, scope, kek); status != KW_OK)
      return status;
    if (value == nullptr && value_len != 0) return usage("kw_field_encrypt: value is NULL but value_len is not 0");

    const auto mode = deterministic != 0 ? keyward::FieldMode::deterministic : keyward::FieldMode::randomized;
    auto field = c->fields.field(c->client, scope, kek, mode, context);
    if (!field) return fail(field.error());
    auto text = (*field)->encrypt(std::span<const std::uint8_t>(value, value_len));
    if (!text) return fail(text.error());

    auto* output = static_cast<char*>(keyward::c_api::allocate_output(text->size() + 1));
    if (output == nullptr) return out_of_memory();
    std::memcpy(output, text->data(), text->size());
    output[text->size()] = '\0';
    *out_text = output;
    return KW_OK;
  });
}

int kw_field_decrypt(kw_client* c, const char* text, const char* scope, const char* const* context,
                     unsigned char** out_value, size_t* out_len) {
  return guarded([&]() -> int {
    if (out_value == nullptr || out_len == nullptr) return usage("kw_field_decrypt: out_value or out_len is NULL");
    *out_value = nullptr;
    *out_len = 0;
    if (text == nullptr) return usage("kw_field_decrypt: text is NULL");
    if (const int status = keyward::c_api::check_decrypt_arguments("kw_field_decrypt", c, scope); status != KW_OK)
      return status;

    // The mode is the value's own (its text says which); the Field's only matters to encrypt.
    auto field = c->fields.field(c->client, scope, nullptr, keyward::FieldMode::randomized, context);
    if (!field) return fail(field.error());
    auto plain = (*field)->decrypt(text);
    if (!plain) return fail(plain.error());
    WipeOnExit wipe{plain->value};

    const std::size_t size = plain->value.size();
    auto* output = static_cast<unsigned char*>(keyward::c_api::allocate_output(size + 1));
    if (output == nullptr) return out_of_memory();
    if (size != 0) std::memcpy(output, plain->value.data(), size);
    output[size] = '\0';
    *out_value = output;
    *out_len = size;
    return KW_OK;
  });
}

}  // extern "C"
