package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.data.RawImage;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TF.js import is exact: MobileNetV2 and InceptionV3 as nsfwjs ships them (uint8-quantised weights inside its JS
 * files, extracted by tools/tfjs/extract.js) run on LibTorch give what TF.js itself gives in Node.js (pure-JS CPU
 * backend, tools/tfjs/reference.js) on the same preprocessed images: the 5-way output and two feature maps each,
 * within 1e-4 relative (largest difference over the largest magnitude). The saved form reloads without npm and
 * gives identical outputs; unsupported layers are refused by name.
 */
class KerasGraphTest {
    static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    static final Path TOOLS = ROOT.resolve("tools/tfjs");

    @TempDir
    static Path models;

    @TempDir
    Path dir;

    @BeforeAll
    static void extract() throws Exception {
        assertTrue(Files.isDirectory(TOOLS.resolve("node_modules/nsfwjs")),
                "the TF.js tools are not installed: bin/test (bin/env.sh) runs npm ci in tools/tfjs");
        node(TOOLS.resolve("extract.js").toString(), models.toString());
    }

    static void node(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(TOOLS.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "node timed out");
        assertEquals(0, p.exitValue(), output);
    }

    @Test
    void mobileNetV2MatchesTfjs() throws Exception {
        KerasGraph g = KerasGraph.fromTfjs(models.resolve("mobilenet_v2"));
        // Every weight is uint8-quantised: one byte per value.
        assertEquals(Files.size(models.resolve("mobilenet_v2/weights.bin")), g.weightCount());
        Map<String, KerasGraph.Output> ours = compare(g, "mobilenet_v2", images(3, 224),
                List.of("block_10_project_BN", "out_relu", "dense_3"));
        assertArrayEquals(new long[] {3, 7, 7, 1280}, ours.get("out_relu").shape());
        // MobileNetV2 1.0 at 224 px is about 300 M multiply-accumulates (the small head adds ~0.4 M).
        long macs = g.macs("dense_3");
        assertTrue(macs > 290_000_000L && macs < 320_000_000L, "MobileNetV2 MACs " + macs);
        assertTrue(g.macs("block_13_expand_relu") < macs);

        // The project's own form: no TF.js needed, identical outputs.
        g.save(dir.resolve("saved"), "nsfwjs@4.4.0 mobilenet_v2");
        KerasGraph back = KerasGraph.load(dir.resolve("saved"));
        float[] input = TfjsInput.nhwc(images(3, 224), 224);
        assertArrayEquals(g.run(input, 3, List.of("dense_3")).get("dense_3").values(),
                back.run(input, 3, List.of("dense_3")).get("dense_3").values());
        byte[] weights = Files.readAllBytes(dir.resolve("saved/weights.safetensors"));
        weights[weights.length - 5] ^= 1;
        Files.write(dir.resolve("saved/weights.safetensors"), weights);
        IOException e = assertThrows(IOException.class, () -> KerasGraph.load(dir.resolve("saved")));
        assertTrue(e.getMessage().contains("CRC-32C"), e.getMessage());
    }

    @Test
    void inceptionV3MatchesTfjs() throws Exception {
        KerasGraph g = KerasGraph.fromTfjs(models.resolve("inception_v3"));
        Map<String, KerasGraph.Output> ours = compare(g, "inception_v3", images(1, 299),
                List.of("mixed7", "mixed10", "dense_3"));
        assertArrayEquals(new long[] {1, 8, 8, 2048}, ours.get("mixed10").shape());
        long macs = g.macs("dense_3");  // InceptionV3 at 299 px: about 5.7 G multiply-accumulates
        assertTrue(macs > 5_500_000_000L && macs < 6_000_000_000L, "InceptionV3 MACs " + macs);
    }

    /**
     * A segment starts as the imported layers (same output as the whole graph, same MACs), trains through its
     * offsets (gradients reach them; moving them changes its output, not the graph's), and refuses cuts it cannot
     * start from.
     */
    @Test
    void segmentRunsTheLayersAfterACutAndTrains() throws Exception {
        KerasGraph g = KerasGraph.fromTfjs(models.resolve("mobilenet_v2"));
        String from = "block_11_add";
        String to = "block_13_expand_relu";
        Tensor x = Tensor.create(TfjsInput.nhwc(images(2, 224), 224), 2, 224, 224, 3).permute(0, 3, 1, 2).contiguous();
        Map<String, Tensor> whole;
        try (NoGradGuard guard = new NoGradGuard()) {
            whole = g.forward(x, java.util.Set.of(from, to));
        }
        KerasGraph.Segment segment = g.segment(from, to, 0.1);
        assertEquals(12, segment.layerCount(), "block 12's 9 layers and block_13_expand's 3");
        float[] expected = floats(whole.get(to));
        Tensor y = segment.forward(whole.get(from));
        assertTrue(maxRelative(floats(y), expected) < 1e-6, "segment vs whole graph");
        assertEquals(g.macs(to) - g.macs(from), segment.macs(14, 14));
        assertEquals((g.macs(to) - g.macs(from)) / 4, segment.macs(7, 7));

        TensorVector params = segment.parameters();
        assertEquals(12, params.size(), "4 convolution kernels (no biases), 4 BN scales, 4 BN shifts");
        y.square().mean().backward();
        for (long i = 0; i < params.size(); i++) {
            assertTrue(params.get(i).grad().abs().sum().item_float() > 0, "no gradient for parameter " + i);
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (long i = 0; i < params.size(); i++) {
                params.get(i).add_(params.get(i).grad().sign());
            }
            float[] moved = floats(segment.forward(whole.get(from)));
            assertTrue(maxRelative(moved, expected) > 1e-3, "moving the offsets changes the output");
            assertTrue(maxRelative(floats(g.forward(x, java.util.Set.of(to)).get(to)), expected) < 1e-6,
                    "the graph stays as imported");
        }

        assertEquals(0, g.segment(to, to, 1).layerCount());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.segment("block_12_expand", "block_12_add", 1));
        assertTrue(e.getMessage().contains("block_11_add"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.segment(to, from, 1));
        assertThrows(IllegalArgumentException.class, () -> g.segment("no_such_layer", to, 1));
        assertThrows(IllegalArgumentException.class, () -> g.segment(from, to, 0));
    }

    private static float[] floats(Tensor t) {
        Tensor c = t.detach().contiguous();
        float[] v = new float[Math.toIntExact(c.numel())];
        ((java.nio.FloatBuffer) c.createBuffer()).get(v);
        return v;
    }

    private static double maxRelative(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void unsupportedLayersAreRefusedByName() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode model = (ObjectNode) json.readTree(models.resolve("mobilenet_v2/model.json").toFile());
        ArrayNode layers = (ArrayNode) model.path("modelTopology").path("model_config").path("config").path("layers");
        ((ObjectNode) layers.get(3)).put("class_name", "Conv3D");
        String name = layers.get(3).path("name").asText();
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        json.writeValue(bad.resolve("model.json").toFile(), model);
        Files.copy(models.resolve("mobilenet_v2/weights.bin"), bad.resolve("weights.bin"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KerasGraph.fromTfjs(bad));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("Conv3D"), e.getMessage());

        Files.write(bad.resolve("weights.bin"), new byte[100]);
        model = (ObjectNode) json.readTree(models.resolve("mobilenet_v2/model.json").toFile());
        json.writeValue(bad.resolve("model.json").toFile(), model);
        assertThrows(IOException.class, () -> KerasGraph.fromTfjs(bad), "truncated weights");
    }

    /** Runs both sides on the same NHWC input and checks every requested layer. */
    private Map<String, KerasGraph.Output> compare(KerasGraph g, String model, List<RawImage> imgs,
                                                   List<String> layers) throws Exception {
        int side = (int) g.inputShape()[0];
        float[] input = TfjsInput.nhwc(imgs, side);
        Path in = dir.resolve("input.f32");
        ByteBuffer b = ByteBuffer.allocate(input.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(input);
        Files.write(in, b.array());
        Path out = dir.resolve("tfjs-" + model);
        node(TOOLS.resolve("reference.js").toString(), models.resolve(model).toString(), in.toString(),
                Integer.toString(imgs.size()), String.join(",", layers), out.toString());
        Map<String, KerasGraph.Output> ours = g.run(input, imgs.size(), layers);
        for (String layer : layers) {
            ByteBuffer ref = ByteBuffer.wrap(Files.readAllBytes(out.resolve(layer + ".f32")))
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] want = new float[ref.remaining() / 4];
            ref.asFloatBuffer().get(want);
            float[] got = ours.get(layer).values();
            assertEquals(want.length, got.length, layer + ": sizes differ");
            double maxDiff = 0, maxRef = 0;
            for (int i = 0; i < want.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
                maxRef = Math.max(maxRef, Math.abs(want[i]));
            }
            assertTrue(maxRef > 0, layer + ": the reference is all zeros");
            double rel = maxDiff / maxRef;
            System.out.printf("%s %s: max |diff| %.3g, max |ref| %.3g, relative %.2e%n", model, layer, maxDiff, maxRef,
                    rel);
            assertTrue(rel <= 1e-4, model + " " + layer + ": relative error " + rel);
        }
        return ours;
    }

    /** Real images (Fashion-MNIST test photos, grey) and one colour pattern, so every input channel differs. */
    private static List<RawImage> images(int n, int side) throws IOException {
        FashionMnist test = FashionMnist.load(Dataset.Split.TEST);
        List<RawImage> out = new ArrayList<>();
        for (int i = 0; i < n - 1; i++) {
            out.add(test.get(17 * i + 3).image());
        }
        Random r = new Random(7);
        byte[] px = new byte[64 * 48 * 3];
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                px[(y * 64 + x) * 3] = (byte) (x * 4);
                px[(y * 64 + x) * 3 + 1] = (byte) (y * 5);
                px[(y * 64 + x) * 3 + 2] = (byte) r.nextInt(256);
            }
        }
        out.add(new RawImage(64, 48, 3, px));
        return out;
    }
}
