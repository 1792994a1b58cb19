/* keyward's C ABI: the key hierarchy and field/envelope encryption for any language (C99).
 *
 * Every function returns an int status with the meaning of keyward's tool exit codes:
 *   KW_OK (0), KW_FAILED (1: data or policy failure, e.g. a tampered value or a wrong context),
 *   KW_USAGE (2: bad arguments), KW_INFRASTRUCTURE (3: token, HSM or catalog database).
 * On a failure, kw_last_error() returns a message for this thread (never key bytes, PINs or
 * plaintext). Nothing aborts or throws across this boundary.
 *
 * Memory: every output the library returns is allocated by it and released with kw_free(), which
 * wipes it first (decrypted values are the application's secrets too).
 *
 * Threads: one kw_client may be used from any number of threads at once.
 *
 * ABI: symbols are versioned (cmake/libkeyward.map); functions keep their names and meaning in later
 * releases, new ones are added. */
#ifndef KEYWARD_KEYWARD_C_H
#define KEYWARD_KEYWARD_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KEYWARD_STATIC_DEFINE) || !defined(__GNUC__)
#define KW_EXPORT
#else
#define KW_EXPORT __attribute__((visibility("default")))
#endif

/* The statuses every int-returning function gives (the tools' exit codes). */
enum { KW_OK = 0, KW_FAILED = 1, KW_USAGE = 2, KW_INFRASTRUCTURE = 3 };

typedef struct kw_client kw_client;

/* Opens a client: logs in to the token. token_uris: one or more PKCS#11 URIs (RFC 7512), separated by
 * whitespace (NULL: those in $KEYWARD_TOKEN); URIs of different tokens are a set holding the same keys,
 * used with failover (a token that differs is refused: KW_INFRASTRUCTURE); the PIN comes from each URI's pin-source
 * (a pin-value is refused here; it is accepted only in $KEYWARD_TOKEN). catalog: the SQLite file of
 * field DEKs, opened by the first field call (NULL: $KEYWARD_CATALOG, else keyward-catalog.db in the
 * working directory). On success *out is the client, to be closed with kw_close; on failure *out is
 * NULL. Returns KW_USAGE for a NULL out, a blank or malformed URI list, and KW_INFRASTRUCTURE when
 * the module, token or login fails. */
KW_EXPORT int kw_open(const char *token_uris, const char *catalog, kw_client **out);
/* Closes a client and releases its keys from memory (NULL is a no-op). No call on it may be running
 * or follow. Texts and values it returned stay valid (free them with kw_free). */
KW_EXPORT void kw_close(kw_client *c);

/* The message of this thread's last failure, prefixed with its category ("authentication: ...");
 * "" after a success. Owned by the library; valid until this thread's next kw_ call. Never NULL. */
KW_EXPORT const char *kw_last_error(void);
/* Wipes and frees a text or value the library returned (NULL is a no-op). Only pointers returned by
 * kw_ functions may be passed, once each. */
KW_EXPORT void kw_free(void *p);

/* context: NULL (no context), or a NULL-terminated array of alternating key, value strings, e.g.
 *   const char *ctx[] = {"table", "users", "column", "email", NULL};
 * A key without a value, an empty key or a key given twice is KW_USAGE. Decryption needs the same pairs
 * (in any order) as encryption: a different context is KW_FAILED. */

/* Encrypts one field value (at most 64 KiB) under the scope's DEK, created under KEK family `kek` on
 * the scope's first use. deterministic: nonzero for AES-256-SIV (equal values give equal texts, so a
 * column is searchable by equality), 0 for randomized AES-256-GCM. value may be NULL when value_len
 * is 0. On success *out_text is a NUL-terminated value text, to be released with kw_free; on failure
 * it is NULL. Returns KW_USAGE for NULL or empty c, scope, kek or out_text, KW_FAILED for an unknown
 * KEK family, a value too long or a shredded scope, KW_INFRASTRUCTURE when the token fails. */
KW_EXPORT int kw_field_encrypt(kw_client *c, const char *scope, const char *kek, int deterministic,
                               const unsigned char *value, size_t value_len, const char *const *context,
                               char **out_text);
/* Decrypts a value text. scope: the scope the value must belong to (NULL: any; "" is KW_USAGE).
 * On success *out_value (released with kw_free) holds *out_len bytes, plus a NUL byte after them for
 * convenience; on failure *out_value is NULL and *out_len 0, and no plaintext was released. Returns
 * KW_FAILED for a tampered value or text that is not a value, a wrong context, a value of another
 * scope, an unknown or shredded DEK; KW_USAGE for NULL arguments. */
KW_EXPORT int kw_field_decrypt(kw_client *c, const char *text, const char *scope, const char *const *context,
                               unsigned char **out_value, size_t *out_len);

/* Batches: many values of one scope in one call, for bindings where each call costs more than the
 * encryption itself (Python's ctypes). All or nothing: the first value that fails stops the batch, its
 * status is returned, kw_last_error names its index ("value 17: ..."), and no output is returned.
 *
 * A batch of value texts is one buffer holding `count` NUL-terminated texts one after another (the
 * layout kw_field_encrypt_batch returns, so its output can be decrypted as it is). */

/* Encrypts `count` values as kw_field_encrypt does, under one scope, KEK family, mode and context.
 * values: the values one after another; value_lens[i]: the length of value i (values may be NULL
 * when every length is 0). On success *out_texts (released with kw_free) holds the `count` texts in
 * order, NUL-terminated, in *out_size bytes (NULs included); on failure it is NULL and *out_size 0.
 * count 0 is a success with an empty (non-NULL) buffer. Statuses as kw_field_encrypt. */
KW_EXPORT int kw_field_encrypt_batch(kw_client *c, const char *scope, const char *kek, int deterministic,
                                     const unsigned char *values, const size_t *value_lens, size_t count,
                                     const char *const *context, char **out_texts, size_t *out_size);
/* Decrypts `count` value texts (texts: texts_size bytes holding count NUL-terminated texts) as
 * kw_field_decrypt does, with one scope (NULL: any) and context. On success *out_values (released with
 * kw_free) holds the values one after another and out_lens[i] (an array of `count` the caller provides)
 * the length of value i; on failure *out_values is NULL, every out_lens[i] is 0, and no plaintext was
 * released. A buffer that does not hold exactly `count` texts is KW_USAGE. Statuses as kw_field_decrypt. */
KW_EXPORT int kw_field_decrypt_batch(kw_client *c, const char *texts, size_t texts_size, size_t count,
                                     const char *scope, const char *const *context, unsigned char **out_values,
                                     size_t *out_lens);

/* Encrypts in_path into out_path (atomic: a complete file, mode 0600, or none; an existing out_path is
 * refused) under a fresh DEK generated in the token and wrapped under KEK family `kek`'s newest
 * version. "-" names stdin / stdout. Returns KW_USAGE for NULL or empty arguments, KW_FAILED for an
 * unknown KEK family or an I/O failure, KW_INFRASTRUCTURE when the token fails; an existing out_path is
 * KW_USAGE. */
KW_EXPORT int kw_encrypt_file(kw_client *c, const char *kek, const char *in_path, const char *out_path,
                              const char *const *context);
/* Decrypts an envelope file with the context it was encrypted with; a regular out_path appears only
 * after every segment verified. Returns KW_FAILED for a wrong context, a tampered or truncated file,
 * or an I/O failure; KW_USAGE for NULL or empty arguments. */
KW_EXPORT int kw_decrypt_file(kw_client *c, const char *in_path, const char *out_path, const char *const *context);

#ifdef __cplusplus
}
#endif

#endif
