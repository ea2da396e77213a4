#include "aff/device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

// Discovery never fails: without a driver or a GPU it reports zero devices, and describing a missing device is a
// clean "no". With devices, each has a name, its memory and its compute capability.
TEST(Device, DiscoveryFallsBackToZeroDevices) {
  const int count = aff::cuda_device_count();
  ASSERT_GE(count, 0);
  if (!aff::cuda_compiled()) {
    EXPECT_EQ(count, 0);
  }
  char buf[256];
  std::memset(buf, 'x', sizeof buf);
  EXPECT_FALSE(aff::cuda_device_describe(count, buf, sizeof buf));
  EXPECT_EQ(buf[0], '\0');
  EXPECT_FALSE(aff::cuda_device_describe(-1, buf, sizeof buf));
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(aff::cuda_device_describe(i, buf, sizeof buf));
    const std::string text = buf;
    EXPECT_NE(text.find("MiB"), std::string::npos) << text;
    EXPECT_NE(text.find("sm_"), std::string::npos) << text;
  }
  const std::string simd = aff::cpu_simd_level();
  EXPECT_TRUE(simd == "avx512" || simd == "avx2" || simd == "scalar") << simd;
}
