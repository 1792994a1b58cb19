// Internal to the public API: the edge where exceptions stop. Every public function runs its body
// through guarded(), so std::bad_alloc (and any other exception from below) becomes an Error value
// instead of unwinding into the application.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "base/error.h"

namespace keyward::internal {

template <class Body>
auto guarded(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCategory::internal, "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCategory::internal, std::string("unexpected exception inside keyward (a bug): ") + e.what());
  } catch (...) {
    return make_error(ErrorCategory::internal, "unexpected exception inside keyward (a bug)");
  }
}

}  // namespace keyward::internal
