// keyward: envelope and field encryption with keys from a PKCS#11 token. The one header an
// application includes. docs/USAGE.md shows an app's whole life with it.
//
//   #include <keyward/keyward.h>
//   auto client = keyward::Client::open();            // $KEYWARD_TOKEN, $KEYWARD_CATALOG
//   if (!client) return client.error().exit_code();
#pragma once

#include "keyward/client.h"
#include "keyward/client_options.h"
#include "keyward/encryption_context.h"
#include "keyward/envelope_description.h"
#include "keyward/error.h"
#include "keyward/export.h"
#include "keyward/field.h"
#include "keyward/key_info.h"
