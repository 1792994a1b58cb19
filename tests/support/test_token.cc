#include "tests/support/test_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>

#include "pkcs11/pin_source.h"
#include "pkcs11/token_setup.h"

namespace keyward::testing {
namespace {

namespace fs = std::filesystem;

std::string percent_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  auto pin = p11::random_pin(bytes * 2);
  if (!pin) throw std::runtime_error(pin.error().message);
  auto view = pin->reveal();
  return std::string(view.begin(), view.end());  // test PINs only: throwaway tokens
}

std::string process_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("KEYWARD_TEST_TMP");
    std::string root = base ? base : KEYWARD_TEST_TMP;
    std::string path = root + "/" + module_kind_name(module_under_test()) + "-" + std::to_string(::getpid()) + "-" +
                       random_hex(4);
    fs::create_directories(path);
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }();
  return dir;
}

p11::TokenUri parse_or_throw(const std::string& uri) {
  auto parsed = p11::TokenUri::parse(uri);
  if (!parsed) throw std::runtime_error("test token URI: " + parsed.error().message);
  return *parsed;
}

std::string softhsm_module() { return "/usr/lib/softhsm/libsofthsm2.so"; }

TestToken init_softhsm_token(const std::string& label, std::shared_ptr<p11::Module> module) {
  TestToken token;
  token.label = label;
  token.dir = process_dir();
  token.module_path = softhsm_module();
  token.so_pin_file = write_private_file(token.dir + "/" + label + ".so.pin", random_hex(16));
  token.user_pin_file = write_private_file(token.dir + "/" + label + ".user.pin", random_hex(16));
  auto so_pin = p11::read_pin("file:" + token.so_pin_file);
  auto user_pin = p11::read_pin("file:" + token.user_pin_file);
  if (!so_pin || !user_pin) throw std::runtime_error("cannot read test PIN files");
  auto made = p11::initialize_fresh_token(module, label, *so_pin, *user_pin);
  if (!made) throw std::runtime_error("cannot initialise SoftHSM test token: " + made.error().message);
  token.uri = "pkcs11:token=" + percent_encode(label) + "?module-path=" + token.module_path +
              "&pin-source=file:" + token.user_pin_file;
  return token;
}

struct ProcessToken {
  TestToken token;
  std::shared_ptr<p11::Module> module;
};

ProcessToken make_process_token() {
  ProcessToken made;
  const std::string dir = process_dir();
  if (module_under_test() == ModuleKind::softhsm) {
    fs::create_directories(dir + "/tokens");
    write_private_file(dir + "/softhsm2.conf", "directories.tokendir = " + dir +
                                                   "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"
                                                   "slots.removable = false\n");
    // SoftHSM reads its configuration in C_Initialize: set it before the module is loaded.
    ::setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1);
    auto module = p11::Module::load({softhsm_module(), std::nullopt});
    if (!module) throw std::runtime_error(module.error().message);
    made.module = *module;
    made.token = init_softhsm_token("keyward-test", made.module);
    return made;
  }
  // NSS softoken: a database made by certutil with a password; its slot 2 ("NSS Certificate DB")
  // holds token objects. C_Initialize gets its configuration through pReserved.
  TestToken& token = made.token;
  token.label = "NSS Certificate DB";
  token.dir = dir;
  token.module_path = KEYWARD_NSS_SOFTOKN;
  token.user_pin_file = write_private_file(dir + "/nss.pin", random_hex(16));
  const std::string certutil = "certutil -N -d sql:" + dir + " -f " + token.user_pin_file + " >/dev/null 2>&1";
  if (run_command(certutil) != 0) throw std::runtime_error("certutil -N failed (apt-get install libnss3-tools)");
  const std::string reserved = "configdir='sql:" + dir + "' certPrefix='' keyPrefix='' secmod='secmod.db' flags=";
  token.uri = "pkcs11:token=" + percent_encode(token.label) + "?module-path=" + token.module_path +
              "&pin-source=file:" + token.user_pin_file + "&x-init-reserved=" + percent_encode(reserved);
  auto module = p11::Module::load({token.module_path, reserved});
  if (!module) throw std::runtime_error(module.error().message);
  made.module = *module;
  return made;
}

ProcessToken& process_token() {
  static ProcessToken token = [] {
    try {
      return make_process_token();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FATAL: cannot create the test token: %s\n", e.what());
      std::abort();
    }
  }();
  return token;
}

}  // namespace

ModuleKind module_under_test() {
  const char* kind = std::getenv("KEYWARD_TEST_MODULE");
  if (kind != nullptr && std::string(kind) == "nss") return ModuleKind::nss;
  return ModuleKind::softhsm;
}

const char* module_kind_name(ModuleKind kind) { return kind == ModuleKind::nss ? "nss" : "softhsm"; }

p11::TokenUri TestToken::parsed_uri() const { return parse_or_throw(uri); }

std::string TestToken::uri_with_pin_file(const std::string& pin_file) const {
  std::string copy = uri;
  auto at = copy.find("pin-source=file:" + user_pin_file);
  copy.replace(at, std::string("pin-source=file:").size() + user_pin_file.size(), "pin-source=file:" + pin_file);
  return copy;
}

const TestToken& test_token() { return process_token().token; }

std::shared_ptr<p11::Module> test_module() { return process_token().module; }

std::shared_ptr<p11::Connection> connect_test_token() {
  auto connection = p11::Connection::open(test_token().parsed_uri());
  if (!connection) {
    ADD_FAILURE() << "cannot connect to the test token: " << connection.error().message;
    return nullptr;
  }
  return *connection;
}

bool can_make_more_tokens() { return module_under_test() == ModuleKind::softhsm; }

TestToken make_another_token(const std::string& label) {
  test_token();  // the module and its configuration come first
  return init_softhsm_token(label, process_token().module);
}

std::string scratch_dir(const std::string& name) {
  std::string path = process_dir() + "/" + name;
  fs::create_directories(path);
  return path;
}

std::string write_private_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

int run_command(const std::string& command, std::string* out_stdout) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer{};
  std::string captured;
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) captured.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (out_stdout) *out_stdout = std::move(captured);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace keyward::testing
