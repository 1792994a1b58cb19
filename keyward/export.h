// KEYWARD_API marks what libkeyward.so exports. The shared library is built with
// -fvisibility=hidden, so everything else (the layers under the public API) stays internal and
// cannot be linked against by accident.
#pragma once

#if defined(KEYWARD_STATIC_DEFINE)
#define KEYWARD_API
#else
#define KEYWARD_API __attribute__((visibility("default")))
#endif
