// Device discovery for builds without nvcc: there is never a CUDA device, so every caller takes the CPU path.
#include "aff/device.h"

namespace aff {

bool cuda_compiled() { return false; }
int32_t cuda_device_count() { return 0; }
bool cuda_device_describe(int32_t, char* buf, int32_t len) {
  if (buf && len > 0) buf[0] = '\0';
  return false;
}

}  // namespace aff
