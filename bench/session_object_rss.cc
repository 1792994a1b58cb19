// The module's memory per session object: generates and destroys N session keys (through keyward's
// pkcs11 layer, nothing kept) on one session, and prints the process's resident set size as it goes.
// SoftHSM 2.6.1 keeps every session object it ever made until the library is finalized
// (SessionObjectStore::allObjects: "pointers to it remain valid"), so its RSS grows with every unwrap
// of a DEK for the CPU; this measures by how much, to tell that growth from a leak of keyward's own
// (README, "Soak").
//
//   session_object_rss [N]     token from $KEYWARD_TOKEN (default N = 100000)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "pkcs11/attributes.h"
#include "pkcs11/connection.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/session_pool.h"
#include "pkcs11/token_uri.h"

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "session_object_rss: %s\n", message.c_str());
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keyward;
  const long count = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
  const char* uri_text = std::getenv("KEYWARD_TOKEN");
  if (uri_text == nullptr || count <= 0) return fail("usage: KEYWARD_TOKEN=URI session_object_rss [N > 0]");
  auto uri = p11::TokenUri::parse(uri_text);
  if (!uri) return fail(uri.error().message);
  auto connection = p11::Connection::open(*uri);
  if (!connection) return fail(connection.error().message);
  p11::SessionPool pool(*connection);
  auto lease = pool.acquire();
  if (!lease) return fail(lease.error().message);
  p11::AttributeTemplate session_key;
  session_key.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES).set_ulong(CKA_VALUE_LEN, 32)
      .set_bool(CKA_TOKEN, false).set_bool(CKA_SENSITIVE, true).set_bool(CKA_EXTRACTABLE, false);
  std::printf("session objects made and destroyed, RSS KiB\n%10d %8ld\n", 0, rss_kib());
  const long step = count / 10 > 0 ? count / 10 : 1;
  for (long i = 1; i <= count; ++i) {
    auto key = lease->session().generate_key(p11::aes_key_gen(), session_key);
    if (!key) return fail(key.error().message);
    if (auto destroyed = lease->session().destroy_object(*key); !destroyed) return fail(destroyed.error().message);
    if (i % step == 0) std::printf("%10ld %8ld\n", i, rss_kib());
  }
  return 0;
}
