#include "hierarchy/token_set.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "hierarchy/call_runner.h"
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
  CallRunner runner;  // every call on this token runs here, within call_timeout
  // Set while a probe of this token is running (prober thread only): one that outlived its deadline
  // is not joined by another.
  std::shared_ptr<std::atomic<bool>> probe_running;

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

// Runs `job` on `runner`, waiting at most `timeout`. nullopt, with `why` saying so, when it did not
// finish in time (it goes on, and its result is dropped) or did not start in time (it never will).
template <class R>
std::optional<R> run_bounded(CallRunner& runner, std::function<R()> job, std::chrono::milliseconds timeout,
                             std::string& why) {
  auto result = std::make_shared<std::optional<R>>();
  switch (runner.run([job = std::move(job), result] { result->emplace(job()); }, timeout)) {
    case CallRunner::Outcome::done:
      return std::move(*result);
    case CallRunner::Outcome::timed_out:
      why = "did not answer within " + std::to_string(timeout.count()) + " ms (the call is left waiting in the module)";
      return std::nullopt;
    case CallRunner::Outcome::not_started:
      break;
  }
  why = "did not take a call within " + std::to_string(timeout.count()) + " ms (every worker of the token was busy)";
  return std::nullopt;
}

// What a probe found, applied by the prober (a probe job touches no TokenSet state: it may outlive
// its deadline).
struct ProbeOutcome {
  std::optional<OpenedToken> opened;  // a token reached for the first time
  std::string name;
  bool back = false;
  std::string problem;
  std::set<std::string> kek_labels;
};

// Reaches the token (a first open, or a fresh login on `existing`), compares it with the reference
// token (when one is in service) and gives it the KEK versions made while it was away.
ProbeOutcome probe_token(const p11::TokenUri& uri, const TokenOpenOptions& open_options, OpenedToken* existing,
                         KeyHierarchy* reference, const std::string& reference_name, std::string name) {
  ProbeOutcome out;
  auto problem = [&](std::string text) {
    out.problem = std::move(text);
    return std::move(out);
  };
  KeyHierarchy* hierarchy = nullptr;
  if (existing == nullptr) {
    auto opened = open_hierarchy(uri, open_options);
    if (!opened) return problem("not reachable: " + opened.error().message);
    name = out.name = describe(*opened);
    out.opened = std::move(*opened);
    hierarchy = out.opened->hierarchy.get();
  } else {
    // Log in afresh: a token that restarted lost its sessions and login, and a new session that is
    // not logged in lists no private object at all (it would read as "no root", not as an error).
    auto& connection = *existing->connection;
    if (auto again = connection.reconnect(connection.generation()); !again)
      return problem("not reachable: " + again.error().message);
    existing->pool->key_handles().clear();
    hierarchy = existing->hierarchy.get();
  }
  auto roots = hierarchy->roots();
  if (!roots) return problem("still failing: " + roots.error().message);
  auto keks = hierarchy->list_keks();
  if (!keks) return problem("still failing: " + keks.error().message);
  if (reference != nullptr) {
    auto ref_roots = reference->roots();
    auto ref_keks = ref_roots ? reference->list_keks() : Result<std::vector<KekInfo>>(std::unexpected(ref_roots.error()));
    if (!ref_keks) return problem("the token to compare it with failed: " + ref_keks.error().message);
    if (auto diff = difference_between(reference_name, *ref_roots, *ref_keks, name, *roots, *keks); !diff.empty())
      return problem("refused: " + diff);
    for (const auto& kek : *ref_keks) {
      if (std::any_of(keks->begin(), keks->end(), [&](const KekInfo& k) { return k.ref.label() == kek.ref.label(); })) continue;
      auto blob = reference->export_kek(kek.ref);
      if (!blob) return problem("catching up " + kek.ref.label() + ": " + blob.error().message);
      auto imported = hierarchy->import_kek(*blob);
      if (!imported) return problem("catching up " + kek.ref.label() + ": " + imported.error().message);
      keks->push_back(*imported);
    }
  }
  out.kek_labels = labels_of(*keks);
  out.back = true;
  return out;
}

// How long the destructor waits for calls still running: by then only abandoned (stuck) calls run.
constexpr std::chrono::milliseconds kStuckCallGrace{1000};

}  // namespace

// Where members go that a call stuck in their module still uses: kept for the life of the process
// (never destroyed under that call), and reachable, so leak checkers do not report them.
void TokenSet::keep_for_stuck_calls(std::unique_ptr<Member> member) {
  static std::mutex mutex;
  static auto* kept = new std::vector<std::unique_ptr<Member>>();
  std::lock_guard lock(mutex);
  kept->push_back(std::move(member));
}

namespace {

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
  // On a refusal the members go; one with a call still stuck in its module is kept alive instead, as
  // the destructor does, since that call still uses it.
  struct LeaveStuckMembers {
    std::vector<std::unique_ptr<Member>>& members;
    ~LeaveStuckMembers() {
      for (auto& m : members)
        if (m && !m->runner.idle(kStuckCallGrace)) keep_for_stuck_calls(std::move(m));
    }
  } leave_stuck{members};
  for (const auto& uri : uris) {
    auto member = std::make_unique<Member>();
    member->uri = uri;
    member->name = uri.redacted();
    contents.emplace_back();
    auto unreached = [&](const std::string& why) {
      member->last_problem = "not reachable at start-up: " + why;
      unreachable += (unreachable.empty() ? "" : "; ") + member->name + ": " + why;
      members.push_back(std::move(member));
    };
    // Bounded like every call: a token that hangs at start-up is left out, not waited for.
    std::string why;
    auto opened = run_bounded<Result<OpenedToken>>(
        member->runner, [uri, open_options = options.open] { return open_hierarchy(uri, open_options); },
        options.call_timeout, why);
    if (!opened || !*opened) {
      unreached(opened ? (*opened).error().message : why);
      continue;
    }
    member->name = describe(**opened);
    member->opened = std::move(**opened);  // kept even if it hangs below: a stuck call may still use it
    KeyHierarchy* hierarchy = member->opened->hierarchy.get();
    auto keys = run_bounded<Result<Contents>>(
        member->runner,
        [hierarchy]() -> Result<Contents> {
          KW_ASSIGN_OR_RETURN(auto roots, hierarchy->roots());
          KW_ASSIGN_OR_RETURN(auto keks, hierarchy->list_keks());
          return Contents{std::move(roots), std::move(keks)};
        },
        options.call_timeout, why);
    if (!keys) {
      unreached(why);
      continue;
    }
    if (!*keys) return fail(as_infrastructure_error((*keys).error().with_context("reading the keys of " + member->name)));
    member->kek_labels = labels_of((*keys)->keks);
    member->in_service = true;
    contents.back() = std::move(**keys);
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
  // A call stuck in a module still uses its token's objects: those are kept alive rather than destroyed
  // under it. Only abandoned calls can still be running here.
  bool stuck = false;
  for (const auto& m : members_) stuck = !m->runner.idle(kStuckCallGrace) || stuck;
  if (stuck)
    for (auto& m : members_) keep_for_stuck_calls(std::move(m));
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
    auto versions = call_on<std::vector<KekRef>>(*m, [](KeyHierarchy& h) { return h.kek_versions_on_token(); });
    if (!versions) continue;  // did not answer: taken out
    if (!*versions) {
      if (token_failed(versions->error())) take_out(*m, versions->error().message);
      continue;
    }
    std::lock_guard lock(mutex_);
    m->kek_labels.clear();
    for (const auto& ref : **versions) m->kek_labels.insert(ref.label());
  }
}

template <class T>
std::optional<Result<T>> TokenSet::call_on(Member& member, std::function<Result<T>(KeyHierarchy&)> work) {
  KeyHierarchy* hierarchy = &member.hierarchy();
  std::string why;
  auto result = run_bounded<Result<T>>(
      member.runner, [work = std::move(work), hierarchy] { return work(*hierarchy); }, options_.call_timeout, why);
  if (!result) take_out(member, why);
  return result;
}

template <class T>
Result<T> TokenSet::change_on(Member& member, std::string_view what, std::function<Result<T>(KeyHierarchy&)> work) {
  auto result = call_on<T>(member, std::move(work));
  if (!result)
    return make_error(ErrorCategory::token, std::string(what) + " on " + member.name + ": the token did not answer within " +
                                                std::to_string(options_.call_timeout.count()) +
                                                " ms, so the change may or may not have been made: check with "
                                                "keyward-ceremony kek list and verify before retrying");
  return std::move(*result);
}

template <class T>
Result<T> TokenSet::on_some_token(std::string_view what, const std::vector<std::string>& needs,
                                  std::function<Result<T>(KeyHierarchy&)> work) {
  std::optional<T> out;
  KW_TRY(fail_over(what, needs, [&](Member& member) -> std::optional<Status> {
    auto result = call_on<T>(member, work);
    if (!result) return std::nullopt;
    if (!*result) return Status(std::unexpected(result->error()));
    out = std::move(**result);
    return Status{};
  }));
  return std::move(*out);
}

Status TokenSet::fail_over(std::string_view what, const std::vector<std::string>& needs,
                           const std::function<std::optional<Status>(Member&)>& attempt) {
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
    std::optional<Status> done = attempt(*chosen);
    chosen->busy.fetch_sub(1);
    if (!done) {  // did not answer in time: call_on took it out
      failovers_.fetch_add(1, std::memory_order_relaxed);
      problems += (problems.empty() ? "" : "; ") + chosen->name + " did not answer";
      continue;
    }
    if (*done) {
      chosen->operations.fetch_add(1, std::memory_order_relaxed);
      return *done;
    }
    if (!token_failed(done->error())) return *done;  // the request or the data: another token would say the same
    take_out(*chosen, done->error().message);
    failovers_.fetch_add(1, std::memory_order_relaxed);
    problems += (problems.empty() ? "" : "; ") + chosen->name + ": " + done->error().message;
  }
}

// --- idempotent operations: any token holding the keys ------------------------------------------------

// Each job owns its inputs (copied into the lambda): a token that does not answer leaves its call
// running after the caller has gone on.
Result<ModuleProfile> TokenSet::measured_module_profile() {
  return on_some_token<ModuleProfile>("probing the module", {}, [](KeyHierarchy& h) { return h.measured_module_profile(); });
}

Result<std::vector<RootInfo>> TokenSet::roots() {
  return on_some_token<std::vector<RootInfo>>("listing roots", {}, [](KeyHierarchy& h) { return h.roots(); });
}

Result<std::vector<KekInfo>> TokenSet::list_keks() {
  return on_some_token<std::vector<KekInfo>>("listing KEKs", {}, [](KeyHierarchy& h) { return h.list_keks(); });
}

Result<KekBlob> TokenSet::export_kek(const KekRef& ref) {
  return on_some_token<KekBlob>("exporting " + ref.label(), {ref.label()},
                                [ref](KeyHierarchy& h) { return h.export_kek(ref); });
}

Result<KeyCheckValue> TokenSet::key_check_value(std::string_view label) {
  return on_some_token<KeyCheckValue>("checking " + std::string(label), {},
                                      [label = std::string(label)](KeyHierarchy& h) { return h.key_check_value(label); });
}

Result<NewDek> TokenSet::generate_dek(const KekRef& kek) {
  return on_some_token<NewDek>("generating a DEK under " + kek.label(), {kek.label()},
                               [kek](KeyHierarchy& h) { return h.generate_dek(kek); });
}

Result<SecretBytes> TokenSet::unwrap_dek_for_cpu(const KekRef& kek, std::span<const std::uint8_t> wrapped) {
  return on_some_token<SecretBytes>("unwrapping a DEK under " + kek.label(), {kek.label()},
                                    [kek, wrapped = std::vector<std::uint8_t>(wrapped.begin(), wrapped.end())](KeyHierarchy& h) {
                                      return h.unwrap_dek_for_cpu(kek, wrapped);
                                    });
}

Result<std::vector<std::vector<std::uint8_t>>> TokenSet::rewrap_deks_in_token(std::span<const WrappedUnder> deks,
                                                                            const KekRef& to) {
  std::set<std::string> labels{to.label()};
  for (const auto& dek : deks) labels.insert(KekRef{to.family, dek.kek_version}.label());
  // The wrapped DEKs copied, with the versions they are under.
  std::vector<std::pair<std::uint32_t, std::vector<std::uint8_t>>> owned;
  owned.reserve(deks.size());
  for (const auto& dek : deks) owned.emplace_back(dek.kek_version, std::vector<std::uint8_t>(dek.wrapped.begin(), dek.wrapped.end()));
  return on_some_token<std::vector<std::vector<std::uint8_t>>>(
      "rewrapping DEKs to " + to.label(), {labels.begin(), labels.end()},
      [owned = std::move(owned), to](KeyHierarchy& h) {
        std::vector<WrappedUnder> views;
        views.reserve(owned.size());
        for (const auto& [version, wrapped] : owned) views.push_back({version, wrapped});
        return h.rewrap_deks_in_token(views, to);
      });
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
  return on_some_token<std::uint32_t>("finding the newest version of KEK " + std::string(family), {},
                                      [family = std::string(family)](KeyHierarchy& h) { return h.latest_kek_version(family); });
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
  auto created = change_on<KekCreated>(*primary, "creating the next version of KEK " + std::string(family),
                                      [family = std::string(family)](KeyHierarchy& h) { return h.create_kek(family); });
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
    auto imported = change_on<KekInfo>(*m, "importing " + created->info.ref.label(),
                                       [blob = created->blob](KeyHierarchy& h) { return h.import_kek(blob); });
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
    auto keks = change_on<std::vector<KekInfo>>(*m, "reading the KEKs", [](KeyHierarchy& h) { return h.list_keks(); });
    if (!keks) return fail(keks.error().with_context("reading the KEKs of " + m->name));
    auto held = std::find_if(keks->begin(), keks->end(), [&](const KekInfo& k) { return k.ref.label() == label; });
    if (held != keks->end() && held->kcv.kw_fingerprint != blob.kek_kcv)
      return make_error(ErrorCategory::policy, m->name + " already holds a different " + label + " (fingerprint " +
                                                   held->kcv.kw_fingerprint + ", the blob's " + blob.kek_kcv + ")");
    Result<KekInfo> result = held != keks->end() ? Result<KekInfo>(*held)
                                                 : change_on<KekInfo>(*m, "importing " + label,
                                                                      [blob](KeyHierarchy& h) { return h.import_kek(blob); });
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
    if (auto destroyed = change_on<void>(*m, "destroying " + ref.label(), [ref](KeyHierarchy& h) { return h.destroy_kek(ref); });
        !destroyed)
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
  if (member.probe_running && member.probe_running->load()) return false;  // the last probe is still stuck
  Member* reference = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (auto& m : members_)
      if (m->in_service && m.get() != &member) reference = m.get();
  }
  auto running = std::make_shared<std::atomic<bool>>(true);
  member.probe_running = running;
  std::string why;
  auto outcome = run_bounded<ProbeOutcome>(
      member.runner,
      [uri = member.uri, open_options = options_.open, existing = member.opened ? &*member.opened : nullptr,
       reference = reference ? &reference->hierarchy() : nullptr, reference_name = reference ? reference->name : "",
       name = member.name, running] {
        ProbeOutcome out = probe_token(uri, open_options, existing, reference, reference_name, name);
        running->store(false);
        return out;
      },
      options_.call_timeout, why);
  std::lock_guard lock(mutex_);
  if (!outcome) {
    member.last_problem = "probing it: " + why;
    return false;
  }
  if (outcome->opened) {
    member.name = outcome->name;
    member.opened = std::move(outcome->opened);
  }
  if (!outcome->back) {
    member.last_problem = outcome->problem;
    return false;
  }
  member.kek_labels = std::move(outcome->kek_labels);
  member.in_service = true;
  return true;
}

}  // namespace keyward::hierarchy
