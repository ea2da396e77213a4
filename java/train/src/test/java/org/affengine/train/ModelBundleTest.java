package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.FeatureStoreWriter;
import org.affengine.data.Features;
import org.affengine.models.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundles round-trip to identical vectors; damaged or mismatched ones are refused with a clear error. */
class ModelBundleTest {
    @TempDir
    Path dir;

    static final List<FeatureSpec> SPECS = List.of(FeatureSpec.global("g", 12, Map.of("weights_crc32c", "00c0ffee")),
            FeatureSpec.local("l", 6, 5, Map.of()));

    /** A small store of random features (global + a variable number of local descriptors). */
    FeatureStore store(int n) throws IOException {
        Random r = new Random();
        Path path = dir.resolve("store");
        try (FeatureStoreWriter w = FeatureStoreWriter.open(path, "random", Dataset.Split.TEST, n, 64, SPECS)) {
            for (int i = 0; i < n; i++) {
                float[] g = new float[12];
                for (int k = 0; k < 12; k++) {
                    g[k] = (float) r.nextGaussian();
                }
                int count = 1 + r.nextInt(5);
                float[] rows = new float[count * 6];
                for (int k = 0; k < rows.length; k++) {
                    rows[k] = (float) r.nextGaussian();
                }
                w.append(new Features(Map.of("g", g), Map.of("l", new Features.LocalSet(count, rows,
                        new float[count * 3]))));
            }
        }
        return FeatureStore.open(path, SPECS);
    }

    /** Trains a few steps so every parameter and the batch-norm statistics move away from their initial values. */
    static void perturb(GalleryEncoder encoder, QueryNet query, FeatureStore store) {
        AffTrainer.train(encoder, query, store, new AffTrainerTest.Bars(3).first(store.size()),
                new AffTrainer.Config(3, 16, 1e-2, 0, 0.9, 8, 0.1, 5, AffTrainer.Schedule.JOINT), () -> { });
    }

    @Test
    void transformerBundleLoadsToIdenticalVectors() throws Exception {
        FeatureStore store = store(100);
        DynamicMixer mixer = new DynamicMixer(SPECS, new DynamicMixer.Config(16, 2, 4, 32));
        QueryNet query = new QueryNet(16);
        perturb(mixer, query, store);
        Dataset images = new AffTrainerTest.Bars(4).first(100);
        ModelBundle.save(dir.resolve("bundle"), mixer, query, Map.of("note", "test"));
        ModelBundle.Loaded loaded = ModelBundle.load(dir.resolve("bundle"));
        assertInstanceOf(DynamicMixer.class, loaded.encoder());
        assertEquals(new DynamicMixer.Config(16, 2, 4, 32), ((DynamicMixer) loaded.encoder()).config());
        assertEquals(SPECS, loaded.meta().inputs());
        assertEquals(query.macs(), loaded.meta().query().macs());
        assertArrayEquals(AffTrainer.galleryVectors(mixer, store, 32),
                AffTrainer.galleryVectors(loaded.encoder(), store, 32));
        assertArrayEquals(AffTrainer.queryVectors(query, images, 32),
                AffTrainer.queryVectors(loaded.query(), images, 32));
        // A freshly initialised model gives other vectors: the comparison above can fail.
        assertNotEquals(AffTrainer.queryVectors(new QueryNet(16), images, 32)[0],
                AffTrainer.queryVectors(query, images, 32)[0]);
    }

    @Test
    void mlpBundleRoundTrips() throws Exception {
        FeatureStore store = store(60);
        MlpMixer mixer = new MlpMixer(SPECS, 8, 24);
        QueryNet query = new QueryNet(8);
        perturb(mixer, query, store);
        ModelBundle.save(dir.resolve("mlp"), mixer, query, Map.of());
        ModelBundle.Loaded loaded = ModelBundle.load(dir.resolve("mlp"));
        assertInstanceOf(MlpMixer.class, loaded.encoder());
        assertArrayEquals(AffTrainer.galleryVectors(mixer, store, 16),
                AffTrainer.galleryVectors(loaded.encoder(), store, 16));
    }

    @Test
    void damagedOrMismatchedBundlesAreRefused() throws Exception {
        Path bundle = dir.resolve("bundle");
        ModelBundle.save(bundle, new DynamicMixer(SPECS, new DynamicMixer.Config(16, 1, 4, 32)), new QueryNet(16),
                Map.of());
        Path tensors = bundle.resolve("model.safetensors");
        Path meta = bundle.resolve("bundle.json");
        byte[] good = Files.readAllBytes(tensors);
        String json = Files.readString(meta);

        byte[] flipped = good.clone();
        flipped[flipped.length - 3] ^= 0x40;
        Files.write(tensors, flipped);
        assertTrue(refused(bundle).contains("corrupt"), refused(bundle));
        Files.write(tensors, java.util.Arrays.copyOf(good, good.length - 8));
        assertTrue(refused(bundle).contains("bytes"), refused(bundle));
        Files.write(tensors, good);

        // Checksums fine, but bundle.json describes another model: the shapes do not match.
        Files.writeString(meta, json.replace("\"ffn\" : 32", "\"ffn\" : 48"));
        assertTrue(refused(bundle).contains("shape"), refused(bundle));
        Files.writeString(meta, json.replace("\"layers\" : 1", "\"layers\" : 2"));
        assertTrue(refused(bundle).contains("do not match"), refused(bundle));
        Files.writeString(meta, json.replace("\"transformer\"", "\"lstm\""));
        assertTrue(refused(bundle).contains("unknown encoder kind"), refused(bundle));
        Files.writeString(meta, json.replace(ModelBundle.FORMAT, "something-else"));
        assertTrue(refused(bundle).contains("expected " + ModelBundle.FORMAT), refused(bundle));
        Files.writeString(meta, json.substring(0, json.length() / 2));
        assertTrue(refused(bundle).contains("unreadable"), refused(bundle));
        Files.delete(meta);
        assertTrue(refused(bundle).contains("not a model bundle"), refused(bundle));

        Files.writeString(meta, json);
        ModelBundle.load(bundle);  // restored: loads again
    }

    static String refused(Path bundle) {
        return assertThrows(IOException.class, () -> ModelBundle.load(bundle)).getMessage();
    }

    @Test
    void safetensorsHeaderIsCheckedAgainstTheData() throws Exception {
        Map<String, org.bytedeco.pytorch.Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("a", org.bytedeco.pytorch.Tensor.create(new float[] {1.5f, -2f, 3f, 4f, 5f, 6f}, 2, 3));
        tensors.put("b", org.bytedeco.pytorch.Tensor.create(new long[] {7, 8}, 2));
        byte[] file = Safetensors.encode(tensors);
        Map<String, org.bytedeco.pytorch.Tensor> back = Safetensors.decode(file);
        assertEquals(List.of("a", "b"), List.copyOf(back.keySet()));
        assertArrayEquals(new long[] {2, 3}, back.get("a").sizes().vec().get());
        assertEquals(-2f, back.get("a").reshape(6).get(1).item_float());
        assertEquals(8L, back.get("b").get(1).item_long());
        // The header as any safetensors reader sees it: length-prefixed JSON, data 8-byte aligned.
        long headerLength = java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8);
        String header = new String(file, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.contains("\"data_offsets\":[0,24]") && header.contains("\"dtype\":\"I64\""), header);

        String bad = header.replace("[0,24]", "[0,20]");
        assertThrows(IOException.class, () -> Safetensors.decode(withHeader(file, headerLength, bad)));
        String overlap = header.replace("[24,40]", "[16,32]");
        assertThrows(IOException.class, () -> Safetensors.decode(withHeader(file, headerLength, overlap)));
        String dtype = header.replace("F32", "BF16");
        assertThrows(IOException.class, () -> Safetensors.decode(withHeader(file, headerLength, dtype)));
        byte[] huge = file.clone();
        huge[7] = 0x7f;
        assertThrows(IOException.class, () -> Safetensors.decode(huge));
        assertThrows(IOException.class, () -> Safetensors.decode(new byte[3]));
    }

    /** The file with its header replaced by one of the same length (padded with spaces). */
    static byte[] withHeader(byte[] file, long length, String header) {
        byte[] out = file.clone();
        byte[] h = (header + " ".repeat((int) length)).substring(0, (int) length).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(h, 0, out, 8, h.length);
        return out;
    }
}
