// Which keys protect a field value or an envelope file, without any secret: the KEK family and
// version its DEK is wrapped under, and the DEK's id.
#pragma once

#include <cstdint>
#include <string>

namespace keyward {

struct KeyInfo {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::string dek_id;   // 32 hex digits; names the DEK, reveals nothing about it
  std::string scope;    // field values: the DEK's scope in the catalog; files: empty
  // A newer version of the family exists (or this one is being retired): Client::rewrap_field_key /
  // rewrap_file_key move the DEK to the newest version in the token.
  bool under_older_kek_version = false;
};

}  // namespace keyward
