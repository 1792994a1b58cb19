#include "hierarchy/token_set.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "hierarchy/labels.h"
#include "pkcs11/ck.h"
#include "pkcs11/rv.h"

namespace keyward::hierarchy {

struct TokenSet::Member {
  p11::TokenUri uri;
  std::string name;
  std::optional<OpenedToken> opened;  // set once, by open() or the prober, before the token is in service
  bool in_service = false;            // guarded by TokenSet::mutex_
  std::set<std::string> kek_labels;   // what it last held; guarded by TokenSet::mutex_
  std::string last_problem;           // guarded by TokenSet::mutex_
  std::uint64_t times_taken_out = 0;  // guarded by TokenSet::mutex_
  std::atomic<int> busy{0};
  std::atomic<std::uint64_t> operations{0};

  KeyHierarchy& hierarchy() const { return *opened->hierarchy; }
};

namespace {

// The token, not the request, failed: another token may well succeed.
// A wrapped key that fails its check is the data's fault even where the module says CKR_GENERAL_ERROR
// (SoftHSM does): such errors arrive as ErrorCategory::authentication and are not the token's.
bool token_failed(const Error& error) {
  if (!error.ck_rv || error.category != ErrorCategory::token) return false;
  const unsigned long rv = *error.ck_rv;
  return p11::is_lost_session(rv) || rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_MEMORY || rv == CKR_GENERAL_ERROR;
}

std::set<std::string> labels_of(const std::vector<KekInfo>& keks) {
  std::set<std::string> out;
  for (const auto& kek : keks) out.insert(kek.ref.label());
  return out;
}

std::uint32_t newest_of(const std::vector<KekInfo>& keks, std::string_view family) {
  std::uint32_t newest = 0;
  for (const auto& kek : keks)
    if (kek.ref.family == family) newest = std::max(newest, kek.ref.version);
  return newest;
}

// "" when every KEK of `from` is on `to` with the same fingerprint, or missing there as the newest of its family.
std::string kek_difference(const std::string& from_name, const std::vector<KekInfo>& from, const std::string& to_name,
                           const std::vector<KekInfo>& to) {
  for (const auto& kek : from) {
    auto same = std::find_if(to.begin(), to.end(), [&](const KekInfo& other) { return other.ref.label() == kek.ref.label(); });
    if (same == to.end()) {
      if (kek.ref.version == newest_of(from, kek.ref.family) && kek.ref.version > newest_of(to, kek.ref.family)) continue;
      return kek.ref.label() + " is on " + from_name + " but not on " + to_name +
             " (and is not the newest version of its family: the tokens have diverged)";
    }
    if (same->kcv.kw_fingerprint != kek.kcv.kw_fingerprint)
      return kek.ref.label() + " differs: fingerprint " + kek.kcv.kw_fingerprint + " on " + from_name + ", " +
             same->kcv.kw_fingerprint + " on " + to_name;
  }
  return "";
}

std::string describe(const OpenedToken& opened) { return opened.connection->token().info().describe(); }

}  // namespace

std::string difference_between(const std::string& a_name, const std::vector<RootInfo>& a_roots,
                               const std::vector<KekInfo>& a_keks, const std::string& b_name,
                               const std::vector<RootInfo>& b_roots, const std::vector<KekInfo>& b_keks) {
  auto root_text = [](const std::vector<RootInfo>& roots) {
    std::string text;
    for (const auto& root : roots) text += (text.empty() ? "" : ", ") + root.label + " " + root.kcv.kw_fingerprint;
    return text.empty() ? std::string("no root") : text;
  };
  if (root_text(a_roots) != root_text(b_roots))
    return "the roots differ: " + root_text(a_roots) + " on " + a_name + "; " + root_text(b_roots) + " on " + b_name;
  if (auto diff = kek_difference(a_name, a_keks, b_name, b_keks); !diff.empty()) return diff;
  return kek_difference(b_name, b_keks, a_name, a_keks);
}

Result<std::unique_ptr<TokenSet>> TokenSet::open(const std::vector<p11::TokenUri>& uris, TokenSetOptions options) {
  if (uris.size() < 2) return make_error(ErrorCategory::usage, "a token set needs at least two token URIs");
  options.open.allow_pin_prompt = false;  // one prompt per token would be confusing; use pin-source
  std::vector<std::unique_ptr<Member>> members;
  std::string unreachable;
  struct Contents {
    std::vector<RootInfo> roots;
    std::vector<KekInfo> keks;
  };
  std::vector<Contents> contents;
  for (const auto& uri : uris) {
    auto member = std::make_unique<Member>();
    member->uri = uri;
    member->name = uri.redacted();
    auto opened = open_hierarchy(uri, options.open);
    if (!opened) {
      member->last_problem = "not reachable at start-up: " + opened.error().message;
      unreachable += (unreachable.empty() ? "" : "; ") + member->name + ": " + opened.error().message;
      contents.emplace_back();
    } else {
      member->name = describe(*opened);
      auto roots = opened->hierarchy->roots();
      auto keks = roots ? opened->hierarchy->list_keks() : Result<std::vector<KekInfo>>(std::unexpected(roots.error()));
      if (!keks) return fail(as_infrastructure_error(keks.error().with_context("reading the keys of " + member->name)));
      member->kek_labels = labels_of(*keks);
      member->in_service = true;
      member->opened = std::move(*opened);
      contents.push_back({std::move(*roots), std::move(*keks)});
    }
    members.push_back(std::move(member));
  }
  std::size_t first = members.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!members[i]->in_service) continue;
    if (first == members.size()) {
      first = i;
      continue;
    }
    auto diff = difference_between(members[first]->name, contents[first].roots, contents[first].keks, members[i]->name,
                                   contents[i].roots, contents[i].keks);
    if (!diff.empty())
      return make_error(ErrorCategory::token, "refusing the token set: " + diff +
                                                  ". Every token of a set must hold the same root and KEKs: bring a "
                                                  "token in with keyward-ceremony recover and replicate, then verify");
  }
  if (first == members.size())
    return make_error(ErrorCategory::token, "no token of the set is reachable: " + unreachable);
  return std::unique_ptr<TokenSet>(new TokenSet(first, std::move(members), options));
}

Result<OpenedToken> open_tokens(const std::vector<p11::TokenUri>& uris, const TokenSetOptions& options) {
  if (uris.size() == 1) return open_hierarchy(uris.front(), options.open);
  KW_ASSIGN_OR_RETURN(auto set, TokenSet::open(uris, options));
  OpenedToken opened;
  opened.connection = set->first_reached().connection;
  opened.pool = set->first_reached().pool;
  opened.hierarchy = std::move(set);
  return opened;
}

TokenSet::TokenSet(std::size_t first_reached, std::vector<std::unique_ptr<Member>> members, TokenSetOptions options)
    : KeyHierarchy(members[first_reached]->opened->pool, options.open.hierarchy),
      members_(std::move(members)),
      first_reached_(first_reached),
      options_(options) {
  prober_ = std::thread([this] { probe_loop(); });
}

TokenSet::~TokenSet() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_prober_.notify_all();
  prober_.join();
}

std::vector<TokenSetMember> TokenSet::members() const {
  std::lock_guard lock(mutex_);
  std::vector<TokenSetMember> out;
  for (const auto& m : members_)
    out.push_back({m->name, m->in_service, m->times_taken_out, m->operations.load(), m->last_problem});
  return out;
}

const OpenedToken& TokenSet::first_reached() const { return *members_[first_reached_]->opened; }

std::vector<KeyHierarchy*> TokenSet::reached_tokens() const {
  std::lock_guard lock(mutex_);
  std::vector<KeyHierarchy*> out;
  for (const auto& m : members_)
    if (m->opened) out.push_back(m->opened->hierarchy.get());
  return out;
}

void TokenSet::take_out(Member& member, const std::string& problem) {
  {
    std::lock_guard lock(mutex_);
    if (member.in_service) ++member.times_taken_out;
    member.in_service = false;
    member.last_problem = problem;
  }
  wake_prober_.notify_all();
}

Status TokenSet::require_every_token(std::string_view what) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : members_)
    if (!m->in_service)
      return make_error(ErrorCategory::token, std::string(what) + " must reach every token of the set, and " + m->name +
                                                  " is out of service (" + m->last_problem +
                                                  "); nothing was changed: retry when it is back");
  return {};
}

void TokenSet::refresh_holdings() {
  for (auto& m : members_) {
    {
      std::lock_guard lock(mutex_);
      if (!m->in_service) continue;
    }
    auto versions = m->hierarchy().kek_versions_on_token();
    if (!versions) {
      if (token_failed(versions.error())) take_out(*m, versions.error().message);
      continue;
    }
    std::lock_guard lock(mutex_);
    m->kek_labels.clear();
    for (const auto& ref : *versions) m->kek_labels.insert(ref.label());
  }
}

Status TokenSet::on_some_token(std::string_view what, const std::vector<std::string>& needs,
                               const std::function<Status(KeyHierarchy&)>& work) {
  std::vector<bool> tried(members_.size(), false);
  bool refreshed = false;
  std::string problems;
  for (;;) {
    Member* chosen = nullptr;
    {
      std::lock_guard lock(mutex_);
      const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % members_.size();
      int least = std::numeric_limits<int>::max();
      for (std::size_t k = 0; k < members_.size(); ++k) {
        const std::size_t i = (start + k) % members_.size();
        Member& m = *members_[i];
        if (tried[i] || !m.in_service) continue;
        if (!std::all_of(needs.begin(), needs.end(), [&](const std::string& label) { return m.kek_labels.contains(label); }))
          continue;
        if (const int busy = m.busy.load(); busy < least) {
          least = busy;
          chosen = &m;
        }
      }
    }
    if (chosen == nullptr) {
      // Perhaps a KEK version was made (by another process) after the holdings were read.
      if (!refreshed && !needs.empty()) {
        refreshed = true;
        refresh_holdings();
        continue;
      }
      if (problems.empty()) {
        std::lock_guard lock(mutex_);
        for (const auto& m : members_)
          if (!m->in_service) problems += (problems.empty() ? "" : "; ") + m->name + " is out: " + m->last_problem;
      }
      std::string needed;
      for (const auto& label : needs) needed += (needed.empty() ? "" : ", ") + label;
      return make_error(ErrorCategory::token, std::string(what) + ": no token of the set can do it" +
                                                  (needed.empty() ? "" : " (it needs " + needed + ")") +
                                                  (problems.empty() ? "" : ": " + problems));
    }
    const std::size_t index = static_cast<std::size_t>(
        std::find_if(members_.begin(), members_.end(), [&](const auto& m) { return m.get() == chosen; }) - members_.begin());
    tried[index] = true;
    chosen->busy.fetch_add(1);
    const auto started = std::chrono::steady_clock::now();
    Status done = work(chosen->hierarchy());
    const auto took = std::chrono::steady_clock::now() - started;
    chosen->busy.fetch_sub(1);
    if (done) {
      chosen->operations.fetch_add(1, std::memory_order_relaxed);
      if (took > options_.slow_call)
        take_out(*chosen, "a call took longer than " + std::to_string(options_.slow_call.count()) + " ms");
      return done;
    }
    if (!token_failed(done.error())) return done;  // the request or the data: another token would say the same
    take_out(*chosen, done.error().message);
    failovers_.fetch_add(1, std::memory_order_relaxed);
    problems += (problems.empty() ? "" : "; ") + chosen->name + ": " + done.error().message;
  }
}

// --- idempotent operations: any token holding the keys ------------------------------------------------

Result<ModuleProfile> TokenSet::measured_module_profile() {
  std::optional<ModuleProfile> out;
  KW_TRY(on_some_token("probing the module", {}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.measured_module_profile());
    return {};
  }));
  return *out;
}

Result<std::vector<RootInfo>> TokenSet::roots() {
  std::vector<RootInfo> out;
  KW_TRY(on_some_token("listing roots", {}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.roots());
    return {};
  }));
  return out;
}

Result<std::vector<KekInfo>> TokenSet::list_keks() {
  std::vector<KekInfo> out;
  KW_TRY(on_some_token("listing KEKs", {}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.list_keks());
    return {};
  }));
  return out;
}

Result<KekBlob> TokenSet::export_kek(const KekRef& ref) {
  std::optional<KekBlob> out;
  KW_TRY(on_some_token("exporting " + ref.label(), {ref.label()}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.export_kek(ref));
    return {};
  }));
  return std::move(*out);
}

Result<KeyCheckValue> TokenSet::key_check_value(std::string_view label) {
  std::optional<KeyCheckValue> out;
  KW_TRY(on_some_token("checking " + std::string(label), {}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.key_check_value(label));
    return {};
  }));
  return std::move(*out);
}

Result<NewDek> TokenSet::generate_dek(const KekRef& kek) {
  std::optional<NewDek> out;
  KW_TRY(on_some_token("generating a DEK under " + kek.label(), {kek.label()}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.generate_dek(kek));
    return {};
  }));
  return std::move(*out);
}

Result<SecretBytes> TokenSet::unwrap_dek_for_cpu(const KekRef& kek, std::span<const std::uint8_t> wrapped) {
  std::optional<SecretBytes> out;
  KW_TRY(on_some_token("unwrapping a DEK under " + kek.label(), {kek.label()}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.unwrap_dek_for_cpu(kek, wrapped));
    return {};
  }));
  return std::move(*out);
}

Result<std::vector<std::vector<std::uint8_t>>> TokenSet::rewrap_deks_in_token(std::span<const WrappedUnder> deks,
                                                                            const KekRef& to) {
  std::set<std::string> labels{to.label()};
  for (const auto& dek : deks) labels.insert(KekRef{to.family, dek.kek_version}.label());
  std::vector<std::vector<std::uint8_t>> out;
  KW_TRY(on_some_token("rewrapping DEKs to " + to.label(), {labels.begin(), labels.end()}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.rewrap_deks_in_token(deks, to));
    return {};
  }));
  return out;
}

// The newest version every token holds: a version still missing somewhere is not used for new DEKs.
Result<std::uint32_t> TokenSet::latest_kek_version(std::string_view family) {
  refresh_holdings();
  std::optional<std::set<std::uint32_t>> common;
  bool anywhere = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& m : members_) {
      if (!m->opened) continue;  // never reached: nothing known; checked when it joins
      std::set<std::uint32_t> versions;
      for (const auto& label : m->kek_labels) {
        auto parsed = parse_label(label);
        if (parsed && parsed->kek_family == family) versions.insert(parsed->version);
      }
      anywhere = anywhere || !versions.empty();
      if (!common) {
        common = versions;
      } else {
        std::set<std::uint32_t> both;
        std::set_intersection(common->begin(), common->end(), versions.begin(), versions.end(),
                              std::inserter(both, both.begin()));
        common = std::move(both);
      }
    }
  }
  if (common && !common->empty()) return *common->rbegin();
  if (anywhere)
    return make_error(ErrorCategory::not_found, "no version of KEK family " + std::string(family) +
                                                    " is on every token of the set yet: run keyward-ceremony replicate");
  // No token holds the family: the single-token answer (its not_found message) is the right one.
  std::optional<std::uint32_t> out;
  KW_TRY(on_some_token("finding the newest version of KEK " + std::string(family), {}, [&](KeyHierarchy& h) -> Status {
    KW_ASSIGN_OR_RETURN(out, h.latest_kek_version(family));
    return {};
  }));
  return *out;
}

// --- changes: never retried blindly -------------------------------------------------------------------

Result<RootInfo> TokenSet::create_generated_root(bool) {
  return make_error(ErrorCategory::usage, "a root is created on one token: give one --token, then bring the others in "
                                          "(keyward-ceremony recover, replicate)");
}
Result<std::uint32_t> TokenSet::next_root_version(bool) {
  return make_error(ErrorCategory::usage, "root ceremonies work on one token: give one --token");
}
Result<SecretBytes> TokenSet::root_material_from_token_rng() {
  return make_error(ErrorCategory::usage, "root ceremonies work on one token: give one --token");
}
Result<RootInfo> TokenSet::import_root(const SecretBytes&, std::uint32_t, bool) {
  return make_error(ErrorCategory::usage, "a root is recovered on one token: give that token's --token alone");
}

Result<KekCreated> TokenSet::create_kek(std::string_view family) {
  KW_TRY(require_every_token("creating a KEK version"));
  Member* primary = nullptr;
  {
    std::lock_guard lock(mutex_);
    primary = members_.front()->in_service ? members_.front().get() : nullptr;
    for (const auto& m : members_)
      if (primary == nullptr && m->in_service) primary = m.get();
  }
  if (primary == nullptr) return make_error(ErrorCategory::token, "creating a KEK version: no token of the set is in service");
  // Created once, on one token. A failure here is not retried on another token: the version may
  // exist on this one (a reply lost after the token made it), and a second try would make two.
  auto created = primary->hierarchy().create_kek(family);
  if (!created) {
    if (token_failed(created.error())) take_out(*primary, created.error().message);
    return fail(created.error().with_context("creating the next version of KEK " + std::string(family) + " on " +
                                             primary->name + " (check with keyward-ceremony kek list before retrying)"));
  }
  {
    std::lock_guard lock(mutex_);
    primary->kek_labels.insert(created->info.ref.label());
  }
  // Then the blob into every other token. Until all hold it, latest_kek_version() does not offer it.
  for (auto& m : members_) {
    if (m.get() == primary) continue;
    auto imported = m->hierarchy().import_kek(created->blob);
    if (!imported) {
      if (token_failed(imported.error())) take_out(*m, imported.error().message);
      return fail(imported.error().with_context(
          created->info.ref.label() + " was created on " + primary->name + " but not imported into " + m->name +
          "; it is not used for new DEKs until every token holds it (run keyward-ceremony replicate)"));
    }
    std::lock_guard lock(mutex_);
    m->kek_labels.insert(created->info.ref.label());
  }
  return created;
}

Result<KekInfo> TokenSet::import_kek(const KekBlob& blob) {
  KW_TRY(require_every_token("importing a KEK version"));
  const std::string label = KekRef{blob.kek_family, blob.kek_version}.label();
  std::optional<KekInfo> first;
  for (auto& m : members_) {
    auto keks = m->hierarchy().list_keks();
    if (!keks) return fail(keks.error().with_context("reading the KEKs of " + m->name));
    auto held = std::find_if(keks->begin(), keks->end(), [&](const KekInfo& k) { return k.ref.label() == label; });
    if (held != keks->end() && held->kcv.kw_fingerprint != blob.kek_kcv)
      return make_error(ErrorCategory::policy, m->name + " already holds a different " + label + " (fingerprint " +
                                                   held->kcv.kw_fingerprint + ", the blob's " + blob.kek_kcv + ")");
    Result<KekInfo> result = held != keks->end() ? Result<KekInfo>(*held) : m->hierarchy().import_kek(blob);
    if (!result) return fail(result.error().with_context("importing " + label + " into " + m->name));
    std::lock_guard lock(mutex_);
    m->kek_labels.insert(label);
    if (!first) first = *result;
  }
  return *first;
}

Status TokenSet::destroy_kek(const KekRef& ref) {
  KW_TRY(require_every_token("destroying " + ref.label()));
  for (auto& m : members_) {
    if (auto destroyed = m->hierarchy().destroy_kek(ref); !destroyed)
      return fail(destroyed.error().with_context("destroying " + ref.label() + " on " + m->name +
                                                 " (tokens before it in the set no longer hold it; run the command again)"));
    std::lock_guard lock(mutex_);
    m->kek_labels.erase(ref.label());
  }
  return {};
}

// --- recovery -----------------------------------------------------------------------------------------

void TokenSet::probe_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_prober_.wait_for(lock, options_.probe_interval);
    if (stopping_) break;
    std::vector<Member*> out;
    for (auto& m : members_)
      if (!m->in_service) out.push_back(m.get());
    if (out.empty()) continue;
    lock.unlock();
    std::this_thread::sleep_for(options_.probe_interval);  // let a failing token settle before asking again
    for (Member* m : out) probe(*m);
    lock.lock();
  }
}

bool TokenSet::probe(Member& member) {
  auto problem = [&](const std::string& text) {
    std::lock_guard lock(mutex_);
    member.last_problem = text;
    return false;
  };
  if (!member.opened) {
    auto opened = open_hierarchy(member.uri, options_.open);
    if (!opened) return problem("not reachable: " + opened.error().message);
    std::lock_guard lock(mutex_);
    member.name = describe(*opened);
    member.opened = std::move(*opened);
  } else {
    // Log in afresh: a token that restarted lost its sessions and login, and a new session that is
    // not logged in lists no private object at all (it would read as "no root", not as an error).
    auto& connection = *member.opened->connection;
    if (auto again = connection.reconnect(connection.generation()); !again)
      return problem("not reachable: " + again.error().message);
    member.opened->pool->key_handles().clear();
  }
  auto roots = member.hierarchy().roots();
  if (!roots) return problem("still failing: " + roots.error().message);
  auto keks = member.hierarchy().list_keks();
  if (!keks) return problem("still failing: " + keks.error().message);
  // Compare with a token in service and give this one what was created while it was away.
  Member* reference = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (auto& m : members_)
      if (m->in_service && m.get() != &member) reference = m.get();
  }
  if (reference != nullptr) {
    auto ref_roots = reference->hierarchy().roots();
    auto ref_keks = ref_roots ? reference->hierarchy().list_keks() : Result<std::vector<KekInfo>>(std::unexpected(ref_roots.error()));
    if (!ref_keks) return false;  // the reference failed in turn; try again next round
    if (auto diff = difference_between(reference->name, *ref_roots, *ref_keks, member.name, *roots, *keks); !diff.empty())
      return problem("refused: " + diff);
    for (const auto& kek : *ref_keks) {
      if (std::any_of(keks->begin(), keks->end(), [&](const KekInfo& k) { return k.ref.label() == kek.ref.label(); })) continue;
      auto blob = reference->hierarchy().export_kek(kek.ref);
      if (!blob) return problem("catching up " + kek.ref.label() + ": " + blob.error().message);
      auto imported = member.hierarchy().import_kek(*blob);
      if (!imported) return problem("catching up " + kek.ref.label() + ": " + imported.error().message);
      keks->push_back(*imported);
    }
  }
  std::lock_guard lock(mutex_);
  member.kek_labels = labels_of(*keks);
  member.in_service = true;
  return true;
}

}  // namespace keyward::hierarchy
