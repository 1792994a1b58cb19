// The C ABI's envelope file calls (keyward/keyward_c.h): kw_encrypt_file, kw_decrypt_file.
#include <string>

#include "keyward/c_api/c_support.h"

using keyward::c_api::fail;
using keyward::c_api::guarded;
using keyward::c_api::usage;

namespace {

bool blank(const char* text) { return text == nullptr || *text == '\0'; }

}  // namespace

extern "C" {

int kw_encrypt_file(kw_client* c, const char* kek, const char* in_path, const char* out_path, const char* const* context) {
  return guarded([&]() -> int {
    if (c == nullptr) return usage("kw_encrypt_file: the client is NULL");
    if (blank(kek)) return usage("kw_encrypt_file: empty KEK family; name the KEK that wraps the file's DEK");
    if (blank(in_path) || blank(out_path)) return usage("kw_encrypt_file: empty input or output path");
    auto parsed = keyward::c_api::parse_context(context);
    if (!parsed) return fail(parsed.error());
    auto done = c->client.encrypt_file(kek, in_path, out_path, *parsed);
    return done ? KW_OK : fail(done.error());
  });
}

int kw_decrypt_file(kw_client* c, const char* in_path, const char* out_path, const char* const* context) {
  return guarded([&]() -> int {
    if (c == nullptr) return usage("kw_decrypt_file: the client is NULL");
    if (blank(in_path) || blank(out_path)) return usage("kw_decrypt_file: empty input or output path");
    auto parsed = keyward::c_api::parse_context(context);
    if (!parsed) return fail(parsed.error());
    auto done = c->client.decrypt_file(in_path, out_path, *parsed);
    return done ? KW_OK : fail(done.error());
  });
}

}  // extern "C"
