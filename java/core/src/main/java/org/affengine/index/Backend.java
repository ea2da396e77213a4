package org.affengine.index;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.affengine.natives.AffNative;

/**
 * What the native core can use here: the CPU SIMD level it chose, whether exact search screens large batches with AMX
 * bf16 tiles, whether CUDA kernels were compiled in, and the CUDA devices the driver reports. Without a device every
 * index runs on the CPU.
 */
public record Backend(String cpuSimd, boolean amxScreening, boolean cudaCompiled, List<String> cudaDevices) {
    public static Backend detect() {
        List<String> devices = new ArrayList<>();
        int count = AffNative.cuda_device_count();
        for (int i = 0; i < count; i++) {
            byte[] buf = new byte[256];
            if (AffNative.cuda_device_describe(i, buf, buf.length)) {
                int len = 0;
                while (len < buf.length && buf[len] != 0) {
                    len++;
                }
                devices.add(new String(buf, 0, len, StandardCharsets.UTF_8));
            }
        }
        return new Backend(AffNative.cpu_simd_level(), AffNative.cpu_amx_screening(), AffNative.cuda_compiled(),
                List.copyOf(devices));
    }

    /** "cuda" when a device is present (unless AFF_BACKEND=cpu asks for the CPU), otherwise "cpu". */
    public String preferred() {
        boolean forcedCpu = "cpu".equalsIgnoreCase(System.getenv("AFF_BACKEND"));
        return cudaDevices.isEmpty() || forcedCpu ? "cpu" : "cuda";
    }
}
