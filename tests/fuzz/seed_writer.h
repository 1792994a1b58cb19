#pragma once

namespace keyward::fuzz {

// Writes fuzz_seeds() into `dir` (created if missing), one file per seed named by its content.
int write_seeds(const char* dir);

}  // namespace keyward::fuzz
