#include <cstdlib>

#include "tools/keyward_rotate/commands.h"

namespace keyward::cli {

void add_rotate_commands(CLI::App& app, RotateOptions& options) {
  if (const char* env = std::getenv("KEYWARD_CATALOG")) options.catalog = env;
  auto common = [&](CLI::App* sub) {
    add_token_options(*sub, options.token);
    sub->add_option("--catalog", options.catalog, "key catalog: a SQLite file, or a postgresql:// URI (password from ~/.pgpass, never the URI); default $KEYWARD_CATALOG or keyward-catalog.db")
        ->capture_default_str();
  };
  auto* start = app.add_subcommand("start", "Create the next KEK version; new DEKs go under it, older versions still decrypt");
  common(start);
  start->add_option("--kek", options.kek_family, "KEK family")->required();
  auto* run = app.add_subcommand("run", "Rewrap every DEK under an older version (catalog, and envelope files in PATHs)");
  common(run);
  run->add_option("--kek", options.kek_family, "only this family (default: every family with DEKs under an older version)");
  run->add_option("--workers", options.workers, "worker processes (PKCS#11 modules scale across processes)")
      ->check(CLI::Range(1u, 64u))->capture_default_str();
  run->add_option("--batch", options.batch, "DEKs per catalog transaction")->check(CLI::Range(1, 100000))->capture_default_str();
  run->add_flag("--json", options.json, "progress as JSON lines on stdout");
  run->add_option("PATH", options.paths, "envelope files or directories whose key sections to rewrap");
  auto* worker = app.add_subcommand("worker", "(internal) one worker process of run");
  worker->group("");  // hidden from --help
  common(worker);
  worker->add_option("--kek", options.kek_family)->required();
  worker->add_option("--target", options.target)->required();
  worker->add_option("--run-id", options.run_id);
  worker->add_option("--shard", options.shard)->required();
  worker->add_option("--shards", options.shards)->required();
  worker->add_option("--batch", options.batch);
  auto* status = app.add_subcommand("status", "DEKs per KEK version, per family, and whether a rotation is in progress");
  common(status);
  status->add_flag("--json", options.json, "machine-readable output");
  auto* retire = app.add_subcommand("retire", "Destroy an old KEK version in the token once nothing references it");
  common(retire);
  retire->add_option("--kek", options.kek_family, "KEK family")->required();
  retire->add_option("--version", options.version, "version to retire")->required();
  retire->add_option("--escrow", options.escrow, "first write the version's root-wrapped blob to this new file (mode 0600)");
  retire->add_flag("--i-accept-data-loss", options.accept_data_loss,
                   "retire even though no complete run proves nothing is left under the version: every value still "
                   "under it becomes undecryptable for good");
  auto* shred = app.add_subcommand("shred", "Crypto-shred a scope: destroy its DEKs (and, with --kek, that KEK family)");
  common(shred);
  shred->add_option("--scope", options.scope, "the scope (tenant, subject…) to shred")->required();
  shred->add_option("--kek", options.kek_family, "also destroy every version of this scope's own KEK family in the token");
}

}  // namespace keyward::cli
