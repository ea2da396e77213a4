package org.affengine.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.affengine.natives.NativeErrors;
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

    /** The exact index follows the backend: the CPU without a device (or for widths the GPU index does not take). */
    @Test
    void exactIndexFollowsTheBackend() {
        Backend cpuOnly = new Backend("scalar", false, true, List.of());
        try (ExactVectorIndex index = VectorIndexes.exact(16, Metric.INNER_PRODUCT, cpuOnly)) {
            assertInstanceOf(ExactIndex.class, index);
            assertEquals("cpu", index.backend());
            index.add(new float[16], new long[] {7});
            assertEquals(16, index.reconstruct(7).length);
        }
        Backend gpu = new Backend("scalar", false, true, List.of("a GPU, 1 MiB, sm_90"));
        try (ExactVectorIndex index = VectorIndexes.exact(12, Metric.INNER_PRODUCT, gpu)) {
            assertInstanceOf(ExactIndex.class, index, "12 is no multiple of 8: the CPU index");
        }
        Backend here = Backend.detect();
        if (here.cudaDevices().isEmpty()) {
            assertThrows(IllegalStateException.class, () -> new CudaIndex(16, Metric.INNER_PRODUCT, 0));
        } else {
            try (ExactVectorIndex index = VectorIndexes.exact(16, Metric.L2, here)) {
                assertEquals("cuda", index.backend());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new CudaIndex(12, Metric.INNER_PRODUCT, 0));
    }

    /** Native failures become bad-argument errors, except CUDA's own, which are the device's problem. */
    @Test
    void cudaFailuresAreNotBadArguments() {
        assertThrows(IllegalStateException.class, () -> NativeErrors.arguments(() -> {
            throw new RuntimeException(NativeErrors.CUDA_ERROR + "cudaMalloc: out of memory");
        }));
        assertThrows(IllegalArgumentException.class, () -> NativeErrors.arguments(() -> {
            throw new RuntimeException("CudaExactIndex::add: id 7 is already present");
        }));
    }
}
