// The id that ties a converted symbol to its params: model-converter records the SHA-256 of the
// params file's bytes in the symbol JSON's top-level attrs (bmx_params_sha256, see
// tools/model_converter/FORMAT.md). A symbol and params from two different conversions (the
// converter was killed between its renames, or a file was copied over) are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bmx {
namespace rt {

// SHA-256 of `size` bytes as 64 lowercase hex digits.
std::string sha256_hex(const void* data, size_t size);

// Throws Error with one sentence when `recorded` (the symbol's bmx_params_sha256; empty: none
// recorded, nothing to check) is not the SHA-256 of the params bytes.
void check_params_id(const std::string& recorded, const void* params, size_t params_size);

}  // namespace rt
}  // namespace bmx
