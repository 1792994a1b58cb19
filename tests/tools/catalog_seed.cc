// keyward-test-seed: fills a catalog with DEKs for rotation tests and benchmarks, and checks them.
//   seed   --catalog C --kek NAME --count N [--distinct K] [--manifest FILE]
//   verify --catalog C --kek NAME [--manifest FILE] [--version V]
//   files  --map FILE [--version V] [--bodies OUT]
//   damage FILE            flips a bit of the envelope's wrapped DEK, keeping the slot checksum valid
//   count-bytes --hex HEX FILE...   prints how many times the bytes occur in each file (absent: -1)
// files decrypts every envelope of the map ("ENVELOPE PLAINFILE" per line) in one process and
// compares it with its plaintext; --bodies writes SHA-256 of each envelope's body (after the key area).
// seed generates K DEKs in the token (default N) and records N catalog entries (reusing the K
// wrapped DEKs under fresh IDs when K < N: rewrap cost does not depend on the key). verify unwraps
// every entry of the family and, with a manifest, compares SHA-256(DEK) with what seed recorded.
// Test tooling: the manifest holds key fingerprints, which production code never writes.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <map>

#include "envelope/envelope_file.h"
#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"
#include "hierarchy/kek_blob.h"
#include "hierarchy/key_hierarchy.h"
#include "catalog/catalog_location.h"
#include "tools/common/cli.h"
#include "tools/common/token_context.h"

using namespace keyward;

namespace {

std::string digest(const SecretBytes& key) {
  unsigned char out[32];
  unsigned int length = 0;
  EVP_Digest(key.reveal().data(), key.size(), out, &length, EVP_sha256(), nullptr);
  return hierarchy::to_hex(std::span<const std::uint8_t>(out, length));
}

}  // namespace

namespace {
int run_seed(int argc, char** argv) {
  CLI::App app{"keyward-test-seed: catalog DEKs for rotation tests"};
  app.require_subcommand(1);
  cli::TokenOptions token;
  std::string catalog_path, kek, manifest;
  std::uint64_t count = 0, distinct = 0;
  std::uint32_t version = 0;
  auto* seed = app.add_subcommand("seed");
  auto* verify = app.add_subcommand("verify");
  for (auto* sub : {seed, verify}) {
    cli::add_token_options(*sub, token);
    sub->add_option("--catalog", catalog_path)->required();
    sub->add_option("--kek", kek)->required();
    sub->add_option("--manifest", manifest);
  }
  seed->add_option("--count", count)->required();
  seed->add_option("--distinct", distinct);
  verify->add_option("--version", version, "expect every entry under this version");
  std::string map_path, bodies_path;
  auto* files = app.add_subcommand("files");
  cli::add_token_options(*files, token);
  files->add_option("--map", map_path)->required();
  files->add_option("--version", version);
  files->add_option("--bodies", bodies_path);
  std::string damage_path, needle_hex;
  std::vector<std::string> haystacks;
  auto* damage = app.add_subcommand("damage");
  damage->add_option("FILE", damage_path)->required();
  auto* count_bytes = app.add_subcommand("count-bytes");
  count_bytes->add_option("--hex", needle_hex)->required();
  count_bytes->add_option("FILE", haystacks)->required();
  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("damage")) {
    auto prefix = envelope::read_envelope_prefix(damage_path);
    if (!prefix) return cli::report("keyward-test-seed", prefix.error());
    auto section = prefix->key_section;
    section.wrapped_dek[section.wrapped_dek.size() / 2] ^= 0x01;
    auto replaced = envelope::replace_key_section_in_place(damage_path, section);
    return replaced ? 0 : cli::report("keyward-test-seed", replaced.error());
  }
  if (app.got_subcommand("count-bytes")) {
    std::string needle;
    for (std::size_t i = 0; i + 1 < needle_hex.size(); i += 2)
      needle.push_back(static_cast<char>(std::stoi(needle_hex.substr(i, 2), nullptr, 16)));
    for (const auto& path : haystacks) {
      std::ifstream in(path, std::ios::binary);
      long occurrences = -1;
      if (in) {
        std::string all((std::istreambuf_iterator<char>(in)), {});
        occurrences = 0;
        for (auto at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++occurrences;
      }
      std::cout << path << " " << occurrences << "\n";
    }
    return 0;
  }

  if (app.got_subcommand("files")) {
    auto context = cli::open_token(token);
    if (!context) return cli::report("keyward-test-seed", context.error());
    std::ifstream map(map_path);
    std::ofstream bodies;
    if (!bodies_path.empty()) bodies.open(bodies_path);
    std::uint64_t checked = 0, failed = 0;
    const std::string out_path = map_path + ".decrypted";
    for (std::string envelope_path, plain_path; map >> envelope_path >> plain_path;) {
      ++checked;
      auto summary = envelope::decrypt_file_atomically(envelope_path, out_path, {}, hierarchy::token_dek_resolver(*context->hierarchy), 1,
                                                        envelope::OutputOptions{.replace_existing = true});
      std::ifstream a(out_path, std::ios::binary), b(plain_path, std::ios::binary);
      std::string got((std::istreambuf_iterator<char>(a)), {}), want((std::istreambuf_iterator<char>(b)), {});
      if (!summary || got != want || (version && summary->prefix.key_section.kek_version != version)) {
        ++failed;
        std::cerr << "FAILED " << envelope_path << (summary ? "" : ": " + summary.error().message) << "\n";
      }
      if (bodies && summary) {
        std::ifstream raw(envelope_path, std::ios::binary);
        std::string all((std::istreambuf_iterator<char>(raw)), {});
        const auto body = std::string_view(all).substr(summary->prefix.body_offset());
        unsigned char h[32];
        unsigned int n = 0;
        EVP_Digest(body.data(), body.size(), h, &n, EVP_sha256(), nullptr);
        bodies << envelope_path << " " << hierarchy::to_hex(std::span<const std::uint8_t>(h, n)) << "\n";
      }
    }
    std::remove(out_path.c_str());
    std::cout << "checked " << checked << " envelopes: " << failed << " failed\n";
    return failed == 0 && checked > 0 ? 0 : 1;
  }

  auto context = cli::open_token(token);
  if (!context) return cli::report("keyward-test-seed", context.error());
  auto catalog = hierarchy::open_catalog(catalog_path);
  if (!catalog) return cli::report("keyward-test-seed", catalog.error());
  auto& keys = *context->hierarchy;

  if (app.got_subcommand("seed")) {
    auto latest = keys.latest_kek_version(kek);
    if (!latest || *latest == 0) return cli::report("keyward-test-seed", Error{ErrorCategory::not_found, "no KEK " + kek, {}});
    if (distinct == 0 || distinct > count) distinct = count;
    std::vector<hierarchy::NewDek> deks;
    for (std::uint64_t i = 0; i < distinct; ++i) {
      auto dek = keys.generate_dek({kek, *latest});
      if (!dek) return cli::report("keyward-test-seed", dek.error());
      deks.push_back(std::move(*dek));
    }
    std::ofstream out;
    if (!manifest.empty()) out.open(manifest);
    std::vector<hierarchy::DekRecord> batch;
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto& dek = deks[i % distinct];
      hierarchy::DekRecord record;
      RAND_bytes(record.dek_id.data(), static_cast<int>(record.dek_id.size()));
      record.scope = "seed/" + std::to_string(i % 997);
      record.kek_family = kek;
      record.kek_version = *latest;
      record.wrapped = dek.wrapped;
      if (out) out << hierarchy::to_hex(record.dek_id) << " " << digest(dek.plaintext) << "\n";
      batch.push_back(std::move(record));
      if (batch.size() == 10000 || i + 1 == count) {
        if (auto made = (*catalog)->create_deks(batch); !made) return cli::report("keyward-test-seed", made.error());
        batch.clear();
      }
    }
    std::cout << "seeded " << count << " catalog DEKs under " << kek << " v" << *latest << "\n";
    return 0;
  }

  std::map<std::string, std::string> expected;
  if (!manifest.empty()) {
    std::ifstream in(manifest);
    for (std::string id, hash; in >> id >> hash;) expected[id] = hash;
  }
  std::uint64_t checked = 0, wrong_version = 0, failed = 0;
  envelope::DekId cursor{};
  for (;;) {
    // Every version below "infinity": all entries of the family, in ID order.
    auto batch = (*catalog)->next_rewrap_batch(kek, UINT32_MAX, cursor, 5000);
    if (!batch) return cli::report("keyward-test-seed", batch.error());
    if (batch->empty()) break;
    for (const auto& record : *batch) {
      ++checked;
      if (version && record.kek_version != version) ++wrong_version;
      auto dek = keys.unwrap_dek_for_cpu({kek, record.kek_version}, record.wrapped);
      const std::string id = hierarchy::to_hex(record.dek_id);
      if (!dek || (!expected.empty() && expected[id] != digest(*dek))) ++failed;
    }
    cursor = batch->back().dek_id;
  }
  if (!expected.empty() && checked != expected.size()) failed += expected.size() > checked ? expected.size() - checked : 0;
  std::cout << "checked " << checked << " DEKs: " << failed << " failed, " << wrong_version << " under another version\n";
  return failed == 0 && wrong_version == 0 ? 0 : 1;
}
}  // namespace

// The audit log is closed here, before static destruction (its writer and the process's installed
// log are statics destroyed in an order that is not theirs to choose).
int main(int argc, char** argv) { return cli::finish_audit("keyward-test-seed", run_seed(argc, argv)); }
