// keyward's PKCS#11 fault-injection module: a test tool, never installed.
//
// A pass-through shared library: it loads the real module, hands the caller a copy of the real
// function list with a few entries replaced, and makes those return configured errors. Every
// fault is set by environment variables, read once when the function list is first asked for:
//
//   KEYWARD_FAULT_MODULE=PATH        the real module (default: SoftHSM2's)
//   KEYWARD_FAULT_TOKEN=LABEL        faults apply only to the token with this label, or with labels starting
//                                    with PREFIX for PREFIX* (default: every token)
//   KEYWARD_FAULT_FAIL=RULE[,RULE]   RULE is FUNCTION@N=RV[+][!after]: the Nth call of FUNCTION (named
//                                    without its "C_" prefix, e.g. UnwrapKey) returns CKR_RV (named without
//                                    "CKR_", e.g. DEVICE_ERROR); "+" also every later call; "!after" lets
//                                    the real call run first and then reports the error (a lost reply)
//   KEYWARD_FAULT_SESSION_LOSS=P     each session call fails with CKR_SESSION_HANDLE_INVALID with probability P
//   KEYWARD_FAULT_SEED=N             seed of that draw (default 1: runs repeat)
//   KEYWARD_FAULT_LATENCY_MS=N       added before each session call
//   KEYWARD_FAULT_DOWN_FILE=PATH     while PATH exists the token is gone: it leaves the slot list, session
//                                    calls fail with CKR_DEVICE_REMOVED, opening one with
//                                    CKR_TOKEN_NOT_PRESENT, and its real sessions are closed (as a device
//                                    that restarts loses them), so a test can pull and restore it mid-run
//   KEYWARD_FAULT_HANG_FILE=PATH     while PATH exists the token stops answering: its session calls (and
//                                    C_OpenSession) block until PATH is removed, as a hung device's do
//   KEYWARD_FAULT_COUNT_FILE=PATH    one line per injected fault ("UnwrapKey DEVICE_ERROR"), so a test can
//                                    show that its faults really happened
//
// Layering: this is the one file outside pkcs11/ that calls through a PKCS#11 function list, because
// it *is* a module (tests/scripts/layering_test.sh allows exactly this directory, see there).
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <p11-kit/pkcs11.h>

namespace {

struct Rule {
  std::string function;
  unsigned long nth = 0;
  CK_RV rv = CKR_OK;
  std::string rv_name;
  bool and_later = false;
  bool after = false;
};

const std::map<std::string, CK_RV>& rv_names() {
  static const std::map<std::string, CK_RV> names = {
      {"DEVICE_ERROR", CKR_DEVICE_ERROR},     {"DEVICE_REMOVED", CKR_DEVICE_REMOVED},
      {"TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT}, {"SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
      {"SESSION_CLOSED", CKR_SESSION_CLOSED}, {"FUNCTION_FAILED", CKR_FUNCTION_FAILED},
      {"GENERAL_ERROR", CKR_GENERAL_ERROR},   {"DEVICE_MEMORY", CKR_DEVICE_MEMORY},
      {"HOST_MEMORY", CKR_HOST_MEMORY},       {"TEMPLATE_INCONSISTENT", CKR_TEMPLATE_INCONSISTENT}};
  return names;
}

[[noreturn]] void config_error(const std::string& what) {
  std::fprintf(stderr, "keyward fault module: %s\n", what.c_str());
  std::abort();  // a misconfigured fault test must not pass by injecting nothing
}

struct Config {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token;
  std::vector<Rule> rules;
  double session_loss = 0;
  unsigned seed = 1;
  unsigned latency_ms = 0;
  std::string down_file;
  std::string hang_file;
  std::string count_file;
};

Config read_config() {
  Config c;
  auto env = [](const char* name) -> std::string { const char* v = std::getenv(name); return v ? v : ""; };
  if (auto v = env("KEYWARD_FAULT_MODULE"); !v.empty()) c.module = v;
  c.token = env("KEYWARD_FAULT_TOKEN");
  if (auto v = env("KEYWARD_FAULT_SESSION_LOSS"); !v.empty()) c.session_loss = std::strtod(v.c_str(), nullptr);
  if (auto v = env("KEYWARD_FAULT_SEED"); !v.empty()) c.seed = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
  if (auto v = env("KEYWARD_FAULT_LATENCY_MS"); !v.empty()) c.latency_ms = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
  c.down_file = env("KEYWARD_FAULT_DOWN_FILE");
  c.hang_file = env("KEYWARD_FAULT_HANG_FILE");
  c.count_file = env("KEYWARD_FAULT_COUNT_FILE");
  std::string rules = env("KEYWARD_FAULT_FAIL");
  for (std::size_t start = 0; start < rules.size();) {
    std::size_t end = rules.find(',', start);
    if (end == std::string::npos) end = rules.size();
    std::string text = rules.substr(start, end - start);
    start = end + 1;
    if (text.empty()) continue;
    Rule r;
    const auto at = text.find('@'), eq = text.find('=');
    if (at == std::string::npos || eq == std::string::npos || eq < at) config_error("bad rule '" + text + "' (FUNCTION@N=RV)");
    r.function = text.substr(0, at);
    r.nth = std::strtoul(text.substr(at + 1, eq - at - 1).c_str(), nullptr, 10);
    std::string rv = text.substr(eq + 1);
    if (auto bang = rv.find("!after"); bang != std::string::npos) { r.after = true; rv.erase(bang); }
    if (!rv.empty() && rv.back() == '+') { r.and_later = true; rv.pop_back(); }
    auto known = rv_names().find(rv);
    if (r.nth == 0 || known == rv_names().end()) config_error("bad rule '" + text + "' (N from 1; RV one of DEVICE_ERROR, …)");
    r.rv = known->second;
    r.rv_name = rv;
    c.rules.push_back(r);
  }
  return c;
}

// --- state ------------------------------------------------------------------------------------------
Config config;
CK_FUNCTION_LIST* real = nullptr;
CK_FUNCTION_LIST wrapped;
std::mutex mutex;
std::unordered_map<CK_SESSION_HANDLE, CK_SLOT_ID> session_slots;
std::map<CK_SLOT_ID, bool> slot_faulted;  // by the token's label, looked up once per slot
std::map<std::string, unsigned long> call_counts;
std::mt19937_64 rng;
bool was_down = false;

void count_injection(const std::string& function, const std::string& rv) {
  if (config.count_file.empty()) return;
  int fd = ::open(config.count_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = function + " " + rv + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

// Caller holds `mutex`.
bool faulted_slot_locked(CK_SLOT_ID slot) {
  if (config.token.empty()) return true;
  auto known = slot_faulted.find(slot);
  if (known != slot_faulted.end()) return known->second;
  CK_TOKEN_INFO info;
  if (real->C_GetTokenInfo(slot, &info) != CKR_OK) return false;
  std::string label(reinterpret_cast<const char*>(info.label), sizeof info.label);
  label.erase(label.find_last_not_of(' ') + 1);
  const bool prefix = config.token.back() == '*';
  const std::string wanted = prefix ? config.token.substr(0, config.token.size() - 1) : config.token;
  return slot_faulted[slot] = prefix ? label.starts_with(wanted) : label == wanted;
}

// Real calls under way, by session; and sessions of a token that went down, closed for real once
// their last call under way returns. (Closing a session inside the real module while another thread
// is in a call on it frees what that call uses: SoftHSM's heap broke that way under a soak. A device
// that restarts frees nothing of the host's, so the simulation must not either.) Guarded by `mutex`.
std::unordered_map<CK_SESSION_HANDLE, int> calls_under_way;
std::set<CK_SESSION_HANDLE> doomed;

// Caller holds `mutex`.
void close_for_real_locked(CK_SESSION_HANDLE session) {
  real->C_CloseSession(session);
  doomed.erase(session);
}

// Whether the faulted token is gone now; on the change to gone, its real sessions are closed (now,
// or when the calls under way on them return).
bool down_locked() {
  if (config.down_file.empty()) return false;
  struct stat st;
  const bool down = ::stat(config.down_file.c_str(), &st) == 0;
  if (down && !was_down) {
    for (auto it = session_slots.begin(); it != session_slots.end();) {
      if (!slot_faulted[it->second]) {
        ++it;
        continue;
      }
      const CK_SESSION_HANDLE session = it->first;
      it = session_slots.erase(it);
      doomed.insert(session);
      if (calls_under_way[session] == 0) close_for_real_locked(session);
    }
  }
  was_down = down;
  return down;
}

// A real call on `session` is starting (caller holds `mutex`, having decided to let it through).
void call_starts_locked(CK_SESSION_HANDLE session) { ++calls_under_way[session]; }

// A real call on `session` returned: the last one on a doomed session closes it.
void call_ends(CK_SESSION_HANDLE session) {
  std::lock_guard lock(mutex);
  auto it = calls_under_way.find(session);
  if (it == calls_under_way.end() || --it->second > 0) return;
  calls_under_way.erase(it);
  if (doomed.contains(session)) close_for_real_locked(session);
}

struct Verdict {
  CK_RV rv = CKR_OK;
  bool after = false;
};

// While the hang file exists, a call on the faulted token waits (outside the module's lock: other
// tokens keep answering).
void wait_while_hung(const char* function, CK_SLOT_ID slot) {
  if (config.hang_file.empty()) return;
  {
    std::lock_guard lock(mutex);
    if (!faulted_slot_locked(slot)) return;
  }
  struct stat st;
  bool counted = false;
  while (::stat(config.hang_file.c_str(), &st) == 0) {
    if (!std::exchange(counted, true)) {
      std::lock_guard lock(mutex);
      count_injection(function, "HANG");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The verdict on a call of `function` on `slot` (caller holds `mutex`).
Verdict judge_locked(const char* function, CK_SLOT_ID slot, bool session_call) {
  if (!faulted_slot_locked(slot)) return {};
  if (down_locked()) {
    const CK_RV rv = session_call ? CKR_DEVICE_REMOVED : CKR_TOKEN_NOT_PRESENT;
    count_injection(function, session_call ? "DEVICE_REMOVED" : "TOKEN_NOT_PRESENT");
    return {rv, false};
  }
  const unsigned long n = ++call_counts[function];
  for (const auto& rule : config.rules) {
    if (rule.function != function) continue;
    if (n == rule.nth || (rule.and_later && n > rule.nth)) {
      count_injection(function, rule.rv_name + (rule.after ? " after" : ""));
      return {rule.rv, rule.after};
    }
  }
  if (session_call && config.session_loss > 0 && std::strcmp(function, "CloseSession") != 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng) < config.session_loss) {
    count_injection(function, "SESSION_HANDLE_INVALID");
    return {CKR_SESSION_HANDLE_INVALID, false};
  }
  return {};
}

// What to do with a call of `function` on `slot`; for a session call (`session` set) that is let
// through to the real module, the call is counted as under way until call_ends(session).
Verdict judge(const char* function, CK_SLOT_ID slot, std::optional<CK_SESSION_HANDLE> session) {
  const bool session_call = session.has_value();
  if (config.latency_ms != 0 && session_call) std::this_thread::sleep_for(std::chrono::milliseconds(config.latency_ms));
  wait_while_hung(function, slot);
  std::lock_guard lock(mutex);
  if (session_call && doomed.contains(*session)) return {CKR_SESSION_HANDLE_INVALID, false};  // lost with the device
  const Verdict verdict = judge_locked(function, slot, session_call);
  if (session_call && (verdict.rv == CKR_OK || verdict.after)) call_starts_locked(*session);
  return verdict;
}

CK_SLOT_ID slot_of(CK_SESSION_HANDLE session) {
  {
    std::lock_guard lock(mutex);
    auto it = session_slots.find(session);
    if (it != session_slots.end()) return it->second;
  }
  CK_SESSION_INFO info;
  if (real->C_GetSessionInfo(session, &info) != CKR_OK) return static_cast<CK_SLOT_ID>(-1);
  std::lock_guard lock(mutex);
  session_slots[session] = info.slotID;
  return info.slotID;
}

// --- wrappers -----------------------------------------------------------------------------------------
#define KW_SESSION_CALL(NAME, PARAMS, ARGS)                                                       \
  CK_RV w_##NAME PARAMS {                                                                         \
    const Verdict verdict = judge(#NAME, slot_of(session), session);                              \
    if (verdict.rv != CKR_OK && !verdict.after) return verdict.rv;                                \
    const CK_RV rv = real->C_##NAME ARGS;                                                         \
    call_ends(session);                                                                           \
    return verdict.rv != CKR_OK ? verdict.rv : rv;                                                \
  }

KW_SESSION_CALL(GetSessionInfo, (CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info), (session, info))
KW_SESSION_CALL(Login, (CK_SESSION_HANDLE session, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len), (session, type, pin, len))
KW_SESSION_CALL(Logout, (CK_SESSION_HANDLE session), (session))
KW_SESSION_CALL(CreateObject, (CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out), (session, t, n, out))
KW_SESSION_CALL(CopyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out), (session, o, t, n, out))
KW_SESSION_CALL(DestroyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE o), (session, o))
KW_SESSION_CALL(GetAttributeValue, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (session, o, t, n))
KW_SESSION_CALL(SetAttributeValue, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (session, o, t, n))
KW_SESSION_CALL(FindObjectsInit, (CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR t, CK_ULONG n), (session, t, n))
KW_SESSION_CALL(FindObjects, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE_PTR o, CK_ULONG max, CK_ULONG_PTR n), (session, o, max, n))
KW_SESSION_CALL(FindObjectsFinal, (CK_SESSION_HANDLE session), (session))
KW_SESSION_CALL(EncryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (session, m, k))
KW_SESSION_CALL(Encrypt, (CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len), (session, in, in_len, out, out_len))
KW_SESSION_CALL(DecryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (session, m, k))
KW_SESSION_CALL(Decrypt, (CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len), (session, in, in_len, out, out_len))
KW_SESSION_CALL(SignInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (session, m, k))
KW_SESSION_CALL(Sign, (CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len), (session, in, in_len, out, out_len))
KW_SESSION_CALL(VerifyInit, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (session, m, k))
KW_SESSION_CALL(Verify, (CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG sig_len), (session, in, in_len, sig, sig_len))
KW_SESSION_CALL(GenerateKey, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out), (session, m, t, n, out))
KW_SESSION_CALL(GenerateKeyPair, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub, CK_ULONG npub, CK_ATTRIBUTE_PTR priv, CK_ULONG npriv, CK_OBJECT_HANDLE_PTR opub, CK_OBJECT_HANDLE_PTR opriv), (session, m, pub, npub, priv, npriv, opub, opriv))
KW_SESSION_CALL(WrapKey, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR out_len), (session, m, wk, k, out, out_len))
KW_SESSION_CALL(UnwrapKey, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE uk, CK_BYTE_PTR in, CK_ULONG in_len, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out), (session, m, uk, in, in_len, t, n, out))
KW_SESSION_CALL(DeriveKey, (CK_SESSION_HANDLE session, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out), (session, m, base, t, n, out))
KW_SESSION_CALL(GenerateRandom, (CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG len), (session, out, len))

CK_RV w_CloseSession(CK_SESSION_HANDLE session) {
  const CK_SLOT_ID slot = slot_of(session);
  {
    // A session lost with the device: closed for real already, or when its calls under way return.
    std::lock_guard lock(mutex);
    if (doomed.contains(session)) return CKR_OK;
  }
  const Verdict verdict = judge("CloseSession", slot, session);
  {
    std::lock_guard lock(mutex);
    session_slots.erase(session);
  }
  const CK_RV rv = real->C_CloseSession(session);  // closed even when a fault is reported: it is gone
  if (verdict.rv == CKR_OK || verdict.after) call_ends(session);
  return verdict.rv != CKR_OK ? verdict.rv : rv;
}

CK_RV w_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out) {
  const Verdict verdict = judge("OpenSession", slot, std::nullopt);
  if (verdict.rv != CKR_OK && !verdict.after) return verdict.rv;
  const CK_RV rv = real->C_OpenSession(slot, flags, app, notify, out);
  if (rv == CKR_OK) {
    std::lock_guard lock(mutex);
    session_slots[*out] = slot;
  }
  return verdict.rv != CKR_OK ? verdict.rv : rv;
}

CK_RV w_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  {
    std::lock_guard lock(mutex);
    if (faulted_slot_locked(slot) && down_locked()) return CKR_TOKEN_NOT_PRESENT;
  }
  return real->C_GetTokenInfo(slot, info);
}

// A gone token leaves the list of slots with a token present.
CK_RV w_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  if (!token_present) return real->C_GetSlotList(token_present, list, count);
  CK_ULONG n = 0;
  if (CK_RV rv = real->C_GetSlotList(token_present, nullptr, &n); rv != CKR_OK) return rv;
  std::vector<CK_SLOT_ID> all(n + 1);
  if (CK_RV rv = real->C_GetSlotList(token_present, all.data(), &n); rv != CKR_OK) return rv;
  all.resize(n);
  std::vector<CK_SLOT_ID> present;
  {
    std::lock_guard lock(mutex);
    const bool down = down_locked();
    for (CK_SLOT_ID slot : all)
      if (!(down && faulted_slot_locked(slot))) present.push_back(slot);
  }
  if (list == nullptr) {
    *count = present.size();
    return CKR_OK;
  }
  if (*count < present.size()) {
    *count = present.size();
    return CKR_BUFFER_TOO_SMALL;
  }
  std::copy(present.begin(), present.end(), list);
  *count = present.size();
  return CKR_OK;
}

CK_RV w_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);

std::once_flag loaded;
CK_RV load_status = CKR_OK;

void load_real_module() {
  config = read_config();
  rng.seed(config.seed);
  void* library = ::dlopen(config.module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) config_error("cannot load " + config.module + ": " + ::dlerror());
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(library, "C_GetFunctionList"));
  if (get == nullptr) config_error(config.module + " has no function list");
  if (CK_RV rv = get(&real); rv != CKR_OK) { load_status = rv; return; }
  wrapped = *real;
  wrapped.C_GetFunctionList = w_GetFunctionList;
  wrapped.C_GetSlotList = w_GetSlotList;
  wrapped.C_GetTokenInfo = w_GetTokenInfo;
  wrapped.C_OpenSession = w_OpenSession;
  wrapped.C_CloseSession = w_CloseSession;
#define KW_WRAP(NAME) wrapped.C_##NAME = w_##NAME
  KW_WRAP(GetSessionInfo); KW_WRAP(Login); KW_WRAP(Logout); KW_WRAP(CreateObject); KW_WRAP(CopyObject);
  KW_WRAP(DestroyObject); KW_WRAP(GetAttributeValue); KW_WRAP(SetAttributeValue); KW_WRAP(FindObjectsInit);
  KW_WRAP(FindObjects); KW_WRAP(FindObjectsFinal); KW_WRAP(EncryptInit); KW_WRAP(Encrypt); KW_WRAP(DecryptInit);
  KW_WRAP(Decrypt); KW_WRAP(SignInit); KW_WRAP(Sign); KW_WRAP(VerifyInit); KW_WRAP(Verify); KW_WRAP(GenerateKey);
  KW_WRAP(GenerateKeyPair); KW_WRAP(WrapKey); KW_WRAP(UnwrapKey); KW_WRAP(DeriveKey); KW_WRAP(GenerateRandom);
#undef KW_WRAP
}

CK_RV w_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == nullptr) return CKR_ARGUMENTS_BAD;
  std::call_once(loaded, load_real_module);
  if (load_status != CKR_OK) return load_status;
  *out = &wrapped;
  return CKR_OK;
}

}  // namespace

// The module's one entry point (PKCS#11 v2.40 §5.2); callers find everything else in the list.
extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  return w_GetFunctionList(out);
}
