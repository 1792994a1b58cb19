// First use of new scopes through the public API, for bench/postgres.sh: one process encrypts one
// value in each of N scopes it has never seen (each a new DEK generated in the token and recorded in
// the catalog: KEYWARD_CATALOG, SQLite or PostgreSQL) and prints each first use's latency in
// microseconds, one per line. Several run at once to measure a fleet's new-scope rate.
//   first_use_bench SCOPES PREFIX     (token from KEYWARD_TOKEN, KEK family "bench")
// A plain program (not Google Benchmark): the script aggregates the latencies of all processes.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "keyward/keyward.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: first_use_bench SCOPES PREFIX\n");
    return 2;
  }
  const long scopes = std::strtol(argv[1], nullptr, 10);
  keyward::ClientOptions options;  // token and catalog from the environment, as an app's
  auto client = keyward::Client::open(options);
  if (!client) {
    std::fprintf(stderr, "first_use_bench: %s\n", client.error().message.c_str());
    return client.error().exit_code();
  }
  for (long i = 0; i < scopes; ++i) {
    keyward::FieldOptions field_options;
    field_options.scope = std::string(argv[2]) + "/" + std::to_string(i);
    field_options.kek_family = "bench";
    const auto start = std::chrono::steady_clock::now();
    auto field = client->field(field_options);
    auto sealed = field ? field->encrypt("first value of a new scope") : keyward::Result<std::string>(std::unexpected(field.error()));
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    if (!sealed) {
      std::fprintf(stderr, "first_use_bench: %s\n", sealed.error().message.c_str());
      return sealed.error().exit_code();
    }
    std::printf("%lld\n", static_cast<long long>(micros));
  }
  return 0;
}
