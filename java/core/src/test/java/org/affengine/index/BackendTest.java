package org.affengine.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class BackendTest {
    @Test
    void reportsTheChosenSimdLevelAndFallsBackToCpuWithoutDevices() {
        Backend backend = Backend.detect();
        assertTrue(Set.of("avx512", "avx2", "scalar").contains(backend.cpuSimd()), backend.toString());
        if (!backend.cudaCompiled()) {
            assertTrue(backend.cudaDevices().isEmpty());
        }
        assertEquals(backend.cudaDevices().isEmpty() ? "cpu" : "cuda", backend.preferred());
        for (String device : backend.cudaDevices()) {
            assertTrue(device.contains("MiB"), device);
        }
    }
}
