// libmongocrypt's explicit encryption of 64-byte values (local KMS provider, AEAD_AES_256_CBC_HMAC_SHA_512
// Random and Deterministic), the reference for keyward's field values (field_bench, same run).
// Each value is what an application does per value: a BSON {"v": value} in, a context through the
// state machine (the data key is in libmongocrypt's own key cache after the first value), the BSON out.
// Built only where libmongocrypt and libbson are found (Debian: libmongocrypt-dev, libbson-dev).
#include <benchmark/benchmark.h>
#include <bson/bson.h>
extern "C" {  // mongocrypt.h declares its C functions without extern "C"
#include <mongocrypt/mongocrypt.h>
}
#include <openssl/rand.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kValueBytes = 64;
constexpr const char* kRandom = "AEAD_AES_256_CBC_HMAC_SHA_512-Random";
constexpr const char* kDeterministic = "AEAD_AES_256_CBC_HMAC_SHA_512-Deterministic";

std::string status_of(mongocrypt_ctx_t* ctx) {
  mongocrypt_status_t* status = mongocrypt_status_new();
  mongocrypt_ctx_status(ctx, status);
  std::string message = mongocrypt_status_message(status, nullptr);
  mongocrypt_status_destroy(status);
  return message;
}

mongocrypt_binary_t* view(const bson_t* doc) {
  return mongocrypt_binary_new_from_data(const_cast<std::uint8_t*>(bson_get_data(doc)), doc->len);
}

// Runs a context to READY (feeding the key document when asked), finalizes into `out`.
bool run(mongocrypt_ctx_t* ctx, const bson_t& key_document, bson_t* out, std::string& error) {
  for (;;) {
    switch (mongocrypt_ctx_state(ctx)) {
      case MONGOCRYPT_CTX_NEED_MONGO_KEYS: {
        mongocrypt_binary_t* key = view(&key_document);
        const bool fed = mongocrypt_ctx_mongo_feed(ctx, key) && mongocrypt_ctx_mongo_done(ctx);
        mongocrypt_binary_destroy(key);
        if (!fed) return error = status_of(ctx), false;
        break;
      }
      case MONGOCRYPT_CTX_READY: {
        mongocrypt_binary_t* result = mongocrypt_binary_new();
        const bool done = mongocrypt_ctx_finalize(ctx, result);
        if (done && out) {
          bson_t view_doc;
          bson_init_static(&view_doc, mongocrypt_binary_data(result), mongocrypt_binary_len(result));
          bson_copy_to(&view_doc, out);
        }
        mongocrypt_binary_destroy(result);
        if (!done) return error = status_of(ctx), false;
        return true;
      }
      case MONGOCRYPT_CTX_DONE:
        return true;
      default:
        return error = "unexpected libmongocrypt state " + std::to_string(mongocrypt_ctx_state(ctx)) + ": " + status_of(ctx), false;
    }
  }
}

struct Crypt {
  mongocrypt_t* crypt = nullptr;
  bson_t key_document = BSON_INITIALIZER;
  std::vector<std::uint8_t> key_id;
  std::string error;

  Crypt() {
    std::uint8_t master[96];
    RAND_bytes(master, sizeof master);
    crypt = mongocrypt_new();
    mongocrypt_binary_t* master_view = mongocrypt_binary_new_from_data(master, sizeof master);
    const bool ready = mongocrypt_setopt_kms_provider_local(crypt, master_view) && mongocrypt_init(crypt);
    mongocrypt_binary_destroy(master_view);
    if (!ready) {
      error = "mongocrypt_init failed";
      return;
    }
    mongocrypt_ctx_t* ctx = mongocrypt_ctx_new(crypt);
    bson_t kek = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&kek, "provider", "local");
    mongocrypt_binary_t* kek_view = view(&kek);
    const bool made = mongocrypt_ctx_setopt_key_encryption_key(ctx, kek_view) && mongocrypt_ctx_datakey_init(ctx) &&
                      run(ctx, key_document, &key_document, error);
    mongocrypt_binary_destroy(kek_view);
    bson_destroy(&kek);
    if (!made && error.empty()) error = status_of(ctx);
    mongocrypt_ctx_destroy(ctx);
    bson_iter_t it;
    if (made && bson_iter_init_find(&it, &key_document, "_id") && BSON_ITER_HOLDS_BINARY(&it)) {
      bson_subtype_t subtype;
      std::uint32_t length = 0;
      const std::uint8_t* bytes = nullptr;
      bson_iter_binary(&it, &subtype, &length, &bytes);
      key_id.assign(bytes, bytes + length);
    } else if (error.empty()) {
      error = "the data key has no _id";
    }
  }
  ~Crypt() {
    bson_destroy(&key_document);
    mongocrypt_destroy(crypt);
  }

  // {"v": <BinData 6>} for {"v": value}.
  bool encrypt(const char* algorithm, const std::string& value, bson_t* out) {
    bson_t in = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&in, "v", value.c_str());
    mongocrypt_ctx_t* ctx = mongocrypt_ctx_new(crypt);
    mongocrypt_binary_t* id = mongocrypt_binary_new_from_data(key_id.data(), static_cast<std::uint32_t>(key_id.size()));
    mongocrypt_binary_t* in_view = view(&in);
    const bool ok = mongocrypt_ctx_setopt_key_id(ctx, id) && mongocrypt_ctx_setopt_algorithm(ctx, algorithm, -1) &&
                    mongocrypt_ctx_explicit_encrypt_init(ctx, in_view) && run(ctx, key_document, out, error);
    if (!ok && error.empty()) error = status_of(ctx);
    mongocrypt_binary_destroy(in_view);
    mongocrypt_binary_destroy(id);
    mongocrypt_ctx_destroy(ctx);
    bson_destroy(&in);
    return ok;
  }

  bool decrypt(const bson_t& encrypted, bson_t* out) {
    mongocrypt_ctx_t* ctx = mongocrypt_ctx_new(crypt);
    mongocrypt_binary_t* in_view = view(&encrypted);
    const bool ok = mongocrypt_ctx_explicit_decrypt_init(ctx, in_view) && run(ctx, key_document, out, error);
    if (!ok && error.empty()) error = status_of(ctx);
    mongocrypt_binary_destroy(in_view);
    mongocrypt_ctx_destroy(ctx);
    return ok;
  }
};

Crypt& crypt() {
  static Crypt c;
  return c;
}

const std::string& value() {
  static const std::string v(kValueBytes, 'x');
  return v;
}

void BM_MongocryptEncrypt(benchmark::State& state, const char* algorithm) {
  auto& c = crypt();
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  for (auto _ : state) {
    bson_t out;
    bson_init(&out);
    if (!c.encrypt(algorithm, value(), &out)) return state.SkipWithError(c.error.c_str());
    benchmark::DoNotOptimize(bson_get_data(&out));
    bson_destroy(&out);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MongocryptDecrypt(benchmark::State& state, const char* algorithm) {
  auto& c = crypt();
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  bson_t encrypted;
  bson_init(&encrypted);
  if (!c.encrypt(algorithm, value(), &encrypted)) return state.SkipWithError(c.error.c_str());
  for (auto _ : state) {
    bson_t out;
    bson_init(&out);
    if (!c.decrypt(encrypted, &out)) return state.SkipWithError(c.error.c_str());
    benchmark::DoNotOptimize(bson_get_data(&out));
    bson_destroy(&out);
  }
  bson_destroy(&encrypted);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_MongocryptEncrypt, random, kRandom);
BENCHMARK_CAPTURE(BM_MongocryptDecrypt, random, kRandom);
BENCHMARK_CAPTURE(BM_MongocryptEncrypt, deterministic, kDeterministic);
BENCHMARK_CAPTURE(BM_MongocryptDecrypt, deterministic, kDeterministic);

}  // namespace

BENCHMARK_MAIN();
