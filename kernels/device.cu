// Device discovery through the CUDA runtime (linked statically). A machine without a driver or a GPU reports
// zero devices instead of failing, so the engine falls back to its CPU backend.
#include <cuda_runtime.h>

#include <cstdio>

#include "aff/device.h"

namespace aff {

bool cuda_compiled() { return true; }

int32_t cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return count;
}

bool cuda_device_describe(int32_t device, char* buf, int32_t len) {
  if (!buf || len <= 0) return false;
  buf[0] = '\0';
  if (device < 0 || device >= cuda_device_count()) return false;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  std::snprintf(buf, static_cast<size_t>(len), "%s, %zu MiB, sm_%d%d", prop.name, prop.totalGlobalMem >> 20, prop.major,
                prop.minor);
  return true;
}

}  // namespace aff
