// Each fuzz target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and fuzz_seeds(): valid
// inputs that the standalone driver (standalone_driver.cc) mutates when libFuzzer is not available.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::vector<std::vector<std::uint8_t>> fuzz_seeds();
