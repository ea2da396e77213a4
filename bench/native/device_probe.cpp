// Prints what the CUDA build of libaff sees: whether the kernels were compiled in and every device.
#include <cstdio>

#include "aff/device.h"

int main() {
  const int count = aff::cuda_device_count();
  std::printf("cuda compiled: %s, devices: %d\n", aff::cuda_compiled() ? "yes" : "no", count);
  for (int i = 0; i < count; ++i) {
    char name[256];
    if (aff::cuda_device_describe(i, name, sizeof name)) std::printf("device %d: %s\n", i, name);
  }
  return 0;
}
