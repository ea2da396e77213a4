package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.data.FeatureStore;
import org.affengine.data.Features;
import org.affengine.index.Backend;
import org.affengine.mixer.NativeMixer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native mixer (the CPU reference the CUDA kernels are checked against) computes what LibTorch's DynamicMixer
 * computes, on a bundle that java/train wrote after a few training steps: same tensor names and layouts, same
 * attention masking, exact (erf) GELU, LayerNorm eps. Errors are clear; without a GPU the CUDA kinds are refused.
 */
class NativeMixerTest {
    @TempDir
    Path dir;

    @Test
    void nativeReferenceMatchesLibTorchOnATrainedBundle() throws IOException {
        ModelBundleTest helper = new ModelBundleTest();
        helper.dir = dir;
        FeatureStore store = helper.store(64);
        DynamicMixer mixer = new DynamicMixer(ModelBundleTest.SPECS, new DynamicMixer.Config(16, 2, 4, 32));
        QueryNet query = new QueryNet(16);
        ModelBundleTest.perturb(mixer, query, store);
        Path bundle = dir.resolve("bundle");
        ModelBundle.save(bundle, mixer, query, Map.of());

        Random r = new Random();
        List<Features> items = new ArrayList<>();
        int n = 23;
        for (int i = 0; i < n; i++) {
            float[] g = new float[12];
            for (int k = 0; k < g.length; k++) {
                g[k] = (float) r.nextGaussian();
            }
            int count = i % 6;  // 0..5 local descriptors: fully padded sets too
            float[] rows = new float[count * 6];
            for (int k = 0; k < rows.length; k++) {
                rows[k] = (float) r.nextGaussian();
            }
            items.add(new Features(Map.of("g", g), Map.of("l", new Features.LocalSet(count, rows,
                    new float[count * 3]))));
        }
        float[] want;
        GalleryBatches.Packed packed = GalleryBatches.packed(ModelBundleTest.SPECS, items);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            mixer.train(false);
            GalleryBatches.Batch b = GalleryBatches.of(ModelBundleTest.SPECS, items);
            Tensor out = mixer.forward(b.features(), b.padding()).contiguous();
            want = new float[n * 16];
            ((FloatBuffer) out.createBuffer()).get(want);
        }
        try (NativeMixer nativeMixer = new NativeMixer(bundle, NativeMixer.Kind.CPU_REFERENCE)) {
            assertEquals(16, nativeMixer.dim());
            assertEquals(2, nativeMixer.inputs());
            assertEquals(5, nativeMixer.inputMaxLocal(1));
            float[] got = nativeMixer.forward(n, packed.features(), packed.padding());
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 2e-6, "element " + i);  // unit vectors: LibTorch fp32 vs doubles
            }
            assertThrows(IllegalArgumentException.class, () -> nativeMixer.forward(n - 1, packed.features(),
                    packed.padding()));
            assertThrows(IllegalArgumentException.class, () -> nativeMixer.forward(n, packed.features(), null));
        }
    }

    @Test
    void badBundlesAndMissingGpusAreClearErrors() throws IOException {
        Path bundle = dir.resolve("bundle");
        ModelBundle.save(bundle, new DynamicMixer(ModelBundleTest.SPECS, new DynamicMixer.Config(16, 1, 4, 32)),
                new QueryNet(16), Map.of());
        if (Backend.detect().cudaDevices().isEmpty()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new NativeMixer(bundle, NativeMixer.Kind.CUDA_FP32));
            assertTrue(e.getMessage().contains("GPU"), e.getMessage());
            assertTrue(NativeMixer.onGpu(bundle, Backend.detect()).isEmpty());
        }
        Path tensors = bundle.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(tensors);
        bytes[bytes.length - 1] ^= 1;
        Files.write(tensors, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NativeMixer(bundle, NativeMixer.Kind.CPU_REFERENCE));
        assertTrue(e.getMessage().contains("CRC"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new NativeMixer(dir.resolve("missing"), NativeMixer.Kind.CPU_REFERENCE));
    }
}
