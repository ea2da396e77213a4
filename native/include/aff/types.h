// Types shared by every index of the native core. Plain integers cross the JNI boundary.
#pragma once
#include <cstdint>

namespace aff {

// How two vectors are compared. INNER_PRODUCT: larger is closer. L2: squared Euclidean distance, smaller is closer.
enum Metric : int32_t { INNER_PRODUCT = 0, L2 = 1 };

// How the exact index keeps its rows in memory.
enum Storage : int32_t { FLOAT32 = 0, FLOAT16 = 1 };

}  // namespace aff
