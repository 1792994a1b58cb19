// TokenSet: several tokens holding the same root and KEKs, used as one KeyHierarchy with failover.
//
// Production deployments run two or more HSMs with the same keys; one restarts, drops its sessions or
// stalls, and the service must keep going. A TokenSet stands in for a single-token KeyHierarchy
// wherever one is used (key service, envelopes, rotation), so no caller changes:
//
// - Same keys, checked. open() compares every token's roots and KEKs by key check value
//   (kw_fingerprint, as `verify` reports them); a token whose root or a KEK differs is refused, naming
//   the object and the token. A token unreachable at start-up joins later, after the same check.
// - Spread. Idempotent operations (unwrap, rewrap, generate-and-wrap, exports, listings, checks) go
//   to the least busy usable token (ties round robin) that holds the KEK versions they need.
// - Failover. A failure that says the token, not the data, is the problem (CKR_DEVICE_ERROR,
//   CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, a
//   session or login the pool could not get back) takes the token out and the same operation is
//   run on another. Data errors (a tampered wrapped key) are returned at once, never retried.
// - Time-outs. Every call on a token runs on that token's CallRunner (call_runner.h) and its caller
//   waits at most `call_timeout`: a token that stops answering is taken out at the deadline and the
//   operation goes to another token, while the stuck call stays behind on its worker thread. Start-up,
//   the prober and changes are bounded the same way, so no caller hangs with a hung token.
// - Recovery. A background prober tries each out-of-set token every `probe_interval`; one that
//   answers is compared again (a token that now differs stays out), given any KEK version created
//   while it was away (its blob, exported from a token of the set), and put back.
// - Creating is not retried. A new KEK version is created once, on one token, and its blob imported
//   into every other (the blob flow); it is refused while a token is out. A change whose token does not
//   answer in time fails saying that it may or may not have been made. latest_kek_version() is
//   the newest version held by *every* token (an out token counts with what it last held), so a
//   version not yet everywhere is never used for new DEKs. Root ceremonies (create, import) work on
//   one token only: recover the root on a new token alone, then bring it in (docs/CEREMONY.md,
//   "Bringing a token into a set"; scripts/add-token.sh).
//
// Thread-safe, like KeyHierarchy.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hierarchy/key_hierarchy.h"
#include "hierarchy/open_hierarchy.h"
#include "pkcs11/token_uri.h"

namespace keyward::hierarchy {

struct TokenSetOptions {
  TokenOpenOptions open;
  std::chrono::milliseconds probe_interval{500};
  // A token that has not answered a call within this is taken out and the caller goes on without it
  // (the call itself cannot be cancelled: it is left on its worker thread). Generous by default: SoftHSM
  // under load takes tens of milliseconds, a network HSM a few hundred.
  std::chrono::milliseconds call_timeout{10'000};
};

// One token of the set, as reported by TokenSet::members().
struct TokenSetMember {
  std::string name;       // the token's description (label, serial, slot) or its URI before it was reached
  bool in_service = false;
  std::uint64_t times_taken_out = 0;
  std::uint64_t operations = 0;  // completed on this token
  std::string last_problem;      // why it was last taken out or refused; "" if never
};

class TokenSet final : public KeyHierarchy {
 public:
  // Opens every URI; at least one token must be reachable and all reachable ones must hold the same
  // roots and KEKs (a KEK version missing on some tokens is accepted only as the newest of its
  // family: a creation cut short, completed by the prober or `keyward-ceremony replicate`).
  // Errors: usage for fewer than two URIs; token when none is reachable or one differs (message
  // names the object, the tokens and both fingerprints).
  static Result<std::unique_ptr<TokenSet>> open(const std::vector<p11::TokenUri>& uris, TokenSetOptions options = {});
  ~TokenSet() override;

  std::vector<TokenSetMember> members() const;
  std::uint64_t failovers() const { return failovers_.load(); }
  // The hierarchy of each token currently reached (for per-token reports such as `verify`).
  std::vector<KeyHierarchy*> reached_tokens() const;
  // The first token reached at start-up, for work that is tied to one token (transcript signing).
  const OpenedToken& first_reached() const;

  Result<ModuleProfile> measured_module_profile() override;
  Result<std::vector<RootInfo>> roots() override;
  Result<RootInfo> create_generated_root(bool new_version) override;
  Result<std::uint32_t> next_root_version(bool new_version) override;
  Result<SecretBytes> root_material_from_token_rng() override;
  Result<RootInfo> import_root(const SecretBytes& material, std::uint32_t version, bool new_version) override;
  Result<KekCreated> create_kek(std::string_view family) override;
  Result<std::vector<KekInfo>> list_keks() override;
  Result<std::uint32_t> latest_kek_version(std::string_view family) override;
  Result<KekBlob> export_kek(const KekRef& ref) override;
  Result<KekInfo> import_kek(const KekBlob& blob) override;
  Status destroy_kek(const KekRef& ref) override;
  Result<NewDek> generate_dek(const KekRef& kek) override;
  Result<SecretBytes> unwrap_dek_for_cpu(const KekRef& kek, std::span<const std::uint8_t> wrapped) override;
  Result<std::vector<std::vector<std::uint8_t>>> rewrap_deks_in_token(std::span<const WrappedUnder> deks,
                                                                     const KekRef& to) override;
  Result<KeyCheckValue> key_check_value(std::string_view label) override;

 private:
  struct Member;
  TokenSet(std::size_t first_reached, std::vector<std::unique_ptr<Member>> members, TokenSetOptions options);

  // Runs `work` on a usable token holding `needs` (KEK labels), failing over as described above.
  // `work` may outlive the call (a token that does not answer): it must own what it uses.
  template <class T>
  Result<T> on_some_token(std::string_view what, const std::vector<std::string>& needs,
                          std::function<Result<T>(KeyHierarchy&)> work);
  // The failover loop: `attempt` runs the operation on one member; nullopt when it did not answer.
  Status fail_over(std::string_view what, const std::vector<std::string>& needs,
                   const std::function<std::optional<Status>(Member&)>& attempt);
  // Runs `work` on `member` within call_timeout; nullopt (and the member taken out) if it did not answer.
  template <class T>
  std::optional<Result<T>> call_on(Member& member, std::function<Result<T>(KeyHierarchy&)> work);
  // For changes: as call_on, but a token that does not answer is an error saying the change may have
  // been made (`what` names it).
  template <class T>
  Result<T> change_on(Member& member, std::string_view what, std::function<Result<T>(KeyHierarchy&)> work);
  // Refuses (token error) unless every token is in service: for changes that must reach all.
  Status require_every_token(std::string_view what) const;
  void take_out(Member& member, const std::string& problem);
  static void keep_for_stuck_calls(std::unique_ptr<Member> member);
  // Re-reads the KEK labels each in-service token holds.
  void refresh_holdings();
  void probe_loop();
  // Reaches, checks and catches up one out-of-service token (within call_timeout); true when it is back.
  bool probe(Member& member);

  std::vector<std::unique_ptr<Member>> members_;
  std::size_t first_reached_;
  TokenSetOptions options_;
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> failovers_{0};
  mutable std::mutex mutex_;  // holdings, problems, in-service flags
  std::condition_variable wake_prober_;
  bool stopping_ = false;
  std::thread prober_;
};

// One URI: open_hierarchy(). Several: a TokenSet, with the first reached token's connection and pool in
// the OpenedToken for work tied to one token. Errors: those of open_hierarchy() and TokenSet::open().
Result<OpenedToken> open_tokens(const std::vector<p11::TokenUri>& uris, const TokenSetOptions& options = {});

// Compares what two tokens hold: "" when they agree (a KEK version missing on one side is allowed
// when it is the newest of its family on the other), else the first difference, in words.
std::string difference_between(const std::string& a_name, const std::vector<RootInfo>& a_roots,
                               const std::vector<KekInfo>& a_keks, const std::string& b_name,
                               const std::vector<RootInfo>& b_roots, const std::vector<KekInfo>& b_keks);

}  // namespace keyward::hierarchy
