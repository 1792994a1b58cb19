// What Client::open needs: which token, which catalog, and the few knobs an app may turn.
// Every field has a safe default; an app usually sets none, or only the catalog.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace keyward {

// Limits on how long and how many plaintext DEKs stay in the client's memory (field values use one
// DEK per scope; envelope files do not use the cache).
struct DekCacheOptions {
  std::size_t max_entries = 1024;
  std::chrono::milliseconds ttl{5 * 60 * 1000};  // from the unwrap, whatever the use
  std::chrono::milliseconds idle{60 * 1000};     // since the last use
  // How long a key in use is served from memory before its catalog row is read again: the longest a
  // shred, rewrap or rotation committed by another process goes unnoticed by this client. 0: read
  // the catalog row on every value (strict, at a catalog read per value).
  std::chrono::milliseconds revalidate_after{1000};
};

struct ClientOptions {
  // PKCS#11 URIs (RFC 7512) of the token. Empty: the whitespace-separated URIs in $KEYWARD_TOKEN.
  // Several URIs naming the same token are one; URIs of different tokens are a set holding the same
  // root and KEKs (checked by fingerprint when the client opens), used with failover
  // (hierarchy/token_set.h). The PIN comes from each URI's pin-source (file:PATH or env:NAME).
  std::vector<std::string> token_uris;
  // A pin-value= attribute puts the PIN itself in the URI: refused in token_uris unless this is set
  // (tests, or a tool that already applied its own rule). URIs taken from $KEYWARD_TOKEN may carry one.
  bool allow_pin_value = false;
  // Ask for the PIN on the controlling terminal when the URI names none (interactive tools only).
  bool allow_pin_prompt = false;

  // The catalog of field DEKs: a libpq connection URI (postgresql://… or postgres://…) for a PostgreSQL
  // catalog shared by many hosts, else a SQLite file path. Empty: $KEYWARD_CATALOG, else
  // keyward-catalog.db in the working directory. A URI carrying a password is refused (usage): libpq
  // reads it from ~/.pgpass, PGPASSFILE or a service file. Opened (and created when missing and writable) by the first field call,
  // so a client that only encrypts files never touches it.
  std::string catalog;
  // Open the catalog read-only: a reader that must not (or cannot) write it. New scopes need a writer.
  bool read_only_catalog = false;
  DekCacheOptions dek_cache;

  // Proceed on a PKCS#11 module that does not implement or enforce every policy attribute (e.g. NSS
  // softoken). Off: such a module is refused with the attributes named.
  bool accept_module_limits = false;
  // Token sessions kept for concurrent calls.
  std::size_t max_sessions = 4;

  // The audit log (docs/AUDIT.md): every token operation, refusal and per-DEK use count of this client
  // recorded there, checkpoints signed in the token. Empty: $KEYWARD_AUDIT; neither: no audit log.
  // One per process (the tools pass --audit, else $KEYWARD_AUDIT, else beside the catalog).
  std::string audit_log;

  // Threads that seal or open the segments of one envelope stream (1: the calling thread's pace).
  unsigned crypto_threads = 1;
  // Plaintext bytes per envelope segment (4 KiB to 16 MiB).
  std::uint32_t segment_size = 1024 * 1024;
};

}  // namespace keyward
