package org.affengine.bench;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.affengine.eval.RevisitopEval;
import org.affengine.eval.RevisitopGround;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;

/**
 * Descriptors on a revisitop-layout benchmark (queries cropped to their box, as the protocol asks): model-free
 * ones (a tiny image: the photo shrunk to s x s colour pixels, mean-removed; a colour histogram) and the built-in
 * global gallery models with their Fashion-MNIST weights (photos shrunk to 28 x 28 grey, as those models see
 * images). Prints a Markdown table of easy / medium / hard mAP and mP@10.
 *
 * <p>Usage: InstanceBaselines BENCHMARK_DIR [WEIGHTS_DIR]  (weights default build/models; trained when missing)
 */
public final class InstanceBaselines {
    private InstanceBaselines() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        RevisitopGround gnd = RevisitopGround.read(root.resolve("gnd_instances.pkl"));
        Path weights = Path.of(args.length > 1 ? args[1] : "build/models");
        Map<String, Function<BufferedImage, float[]>> descriptors = new LinkedHashMap<>();
        descriptors.put("tiny image 8x8 (192-d)", img -> tiny(img, 8));
        descriptors.put("tiny image 16x16 (768-d)", img -> tiny(img, 16));
        descriptors.put("colour histogram 8x8x8 (512-d)", InstanceBaselines::histogram);
        org.affengine.data.FashionMnist train = org.affengine.data.FashionMnist.load(
                org.affengine.data.Dataset.Split.TRAIN);
        for (String name : List.of("resnet-gem", "vgg-gem")) {
            org.affengine.models.GlobalNet net = (org.affengine.models.GlobalNet)
                    org.affengine.models.GalleryModels.trainOrLoad(name, weights, train, 800, 1, i -> { });
            descriptors.put(name + " (Fashion-MNIST weights, 28x28 grey, " + net.dim() + "-d)", img -> learned(net,
                    img));
        }
        // ImageNet-pretrained backbones imported from TF.js (`aff import-tfjs` saves them under build/backbones).
        Path backbones = Path.of(args.length > 2 ? args[2] : "build/backbones");
        for (String[] b : new String[][] {{"mobilenet_v2", "out_relu"}, {"mobilenet_v2", "block_13_expand_relu"},
                {"inception_v3", "mixed10"}, {"inception_v3", "mixed7"}}) {
            Path dir = backbones.resolve(b[0]);
            if (!java.nio.file.Files.exists(dir.resolve("model.json"))) {
                System.err.println("no " + dir + ": run `bin/run import-tfjs` for the pretrained backbones");
                continue;
            }
            org.affengine.models.KerasGraph graph = org.affengine.models.KerasGraph.load(dir);
            int side = (int) graph.inputShape()[0];
            String layer = b[1];
            descriptors.put(b[0] + " " + layer + ", GeM (ImageNet weights via TF.js, " + side + " px)",
                    img -> pretrained(graph, layer, img));
        }
        System.out.println("| descriptor | easy mAP | medium mAP | hard mAP | medium mP@10 |");
        System.out.println("|---|---|---|---|---|");
        for (Map.Entry<String, Function<BufferedImage, float[]>> d : descriptors.entrySet()) {
            print(d.getKey(), score(root, gnd, d.getValue()));
        }
        for (org.affengine.models.OpenCvLocal.Kind kind : org.affengine.models.OpenCvLocal.Kind.values()) {
            org.affengine.models.OpenCvLocal model = new org.affengine.models.OpenCvLocal(kind, 500);
            print(model.modelName() + " (500 keypoints, ratio-test voting)", scoreLocal(root, gnd, model));
        }
    }

    static void print(String name, RevisitopEval.Result r) {
        System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f |%n", name, 100 * r.easy().map(),
                100 * r.medium().map(), 100 * r.hard().map(), 100 * r.medium().mp(10));
    }

    /** Local descriptors: every query descriptor votes for the gallery image of its nearest (ratio test 0.85). */
    static RevisitopEval.Result scoreLocal(Path root, RevisitopGround gnd, org.affengine.models.OpenCvLocal model)
            throws Exception {
        List<org.affengine.data.Features.LocalSet> gallery = new java.util.ArrayList<>();
        for (String name : gnd.imlist()) {
            gallery.add(model.extract(raw(ImageIO.read(root.resolve("jpg").resolve(name + ".jpg").toFile()))));
        }
        List<org.affengine.data.Features.LocalSet> queries = new java.util.ArrayList<>();
        for (int q = 0; q < gnd.qimlist().size(); q++) {
            queries.add(model.extract(raw(cropped(root, gnd, q))));
        }
        return RevisitopEval.evaluate(org.affengine.models.LocalVoting.rank(queries, gallery, model.dim(), 0.85), gnd);
    }

    static BufferedImage cropped(Path root, RevisitopGround gnd, int q) throws Exception {
        BufferedImage img = ImageIO.read(root.resolve("jpg").resolve(gnd.qimlist().get(q) + ".jpg").toFile());
        double[] b = gnd.queries().get(q).bbx();
        if (b == null) {
            return img;
        }
        int x1 = (int) Math.max(0, Math.floor(b[0]));
        int y1 = (int) Math.max(0, Math.floor(b[1]));
        int x2 = (int) Math.min(img.getWidth(), Math.ceil(b[2]));
        int y2 = (int) Math.min(img.getHeight(), Math.ceil(b[3]));
        return img.getSubimage(x1, y1, Math.max(1, x2 - x1), Math.max(1, y2 - y1));
    }

    static org.affengine.data.RawImage raw(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                int i = (y * w + x) * 3;
                px[i] = (byte) (p >> 16);
                px[i + 1] = (byte) (p >> 8);
                px[i + 2] = (byte) p;
            }
        }
        return new org.affengine.data.RawImage(w, h, 3, px);
    }

    static RevisitopEval.Result score(Path root, RevisitopGround gnd, Function<BufferedImage, float[]> describe)
            throws Exception {
        float[] gallery = null;
        int dim = 0;
        List<String> names = gnd.imlist();
        for (int i = 0; i < names.size(); i++) {
            float[] v = describe.apply(ImageIO.read(root.resolve("jpg").resolve(names.get(i) + ".jpg").toFile()));
            if (gallery == null) {
                dim = v.length;
                gallery = new float[names.size() * dim];
            }
            System.arraycopy(v, 0, gallery, i * dim, dim);
        }
        int[][] ranks = new int[gnd.qimlist().size()][];
        try (ExactIndex index = new ExactIndex(dim, Metric.INNER_PRODUCT)) {
            long[] ids = new long[names.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
            }
            index.add(gallery, ids);
            for (int q = 0; q < ranks.length; q++) {
                BufferedImage img = cropped(root, gnd, q);
                long[] ranked = index.search(describe.apply(img), names.size()).ids();
                ranks[q] = java.util.Arrays.stream(ranked).mapToInt(Math::toIntExact).toArray();
            }
        }
        return RevisitopEval.evaluate(ranks, gnd);
    }

    /** GeM (p = 3) over a pretrained backbone's feature map of the photo at the model's input size, L2-normalised. */
    static float[] pretrained(org.affengine.models.KerasGraph graph, String layer, BufferedImage img) {
        int side = (int) graph.inputShape()[0];
        float[] input = org.affengine.models.TfjsInput.nhwc(List.of(raw(img)), side);
        return normalise(graph.run(input, 1, List.of(layer)).get(layer).gem(3), false);
    }

    /** A built-in model's descriptor of the photo seen as Fashion-MNIST images are: 28 x 28 grey. */
    static float[] learned(org.affengine.models.GlobalNet net, BufferedImage img) {
        float[] grey = tinyGrey(img, 28);
        byte[] pixels = new byte[28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) Math.round(grey[i]);
        }
        org.affengine.data.RawImage raw = new org.affengine.data.RawImage(28, 28, 1, pixels);
        float[] chw = org.affengine.data.ImageCodec.toChw(raw, org.affengine.models.ImageBatches.FASHION_MEAN,
                org.affengine.models.ImageBatches.FASHION_STD);
        try (org.bytedeco.pytorch.NoGradGuard guard = new org.bytedeco.pytorch.NoGradGuard()) {
            org.bytedeco.pytorch.Tensor out = net.embed(org.bytedeco.pytorch.Tensor.create(chw, 1, 1, 28, 28))
                    .contiguous();
            float[] v = new float[net.dim()];
            ((java.nio.FloatBuffer) out.createBuffer()).get(v);
            return normalise(v, false);
        }
    }

    /** Grey levels averaged down to s x s cells. */
    static float[] tinyGrey(BufferedImage img, int s) {
        float[] v = new float[s * s];
        int[] counts = new int[s * s];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int cell = (y * s / img.getHeight()) * s + (x * s / img.getWidth());
                int p = img.getRGB(x, y);
                v[cell] += 0.299f * ((p >> 16) & 0xff) + 0.587f * ((p >> 8) & 0xff) + 0.114f * (p & 0xff);
                counts[cell]++;
            }
        }
        for (int c = 0; c < v.length; c++) {
            v[c] /= Math.max(1, counts[c]);
        }
        return v;
    }

    /** The image averaged down to s x s RGB cells, mean-removed and L2-normalised. */
    static float[] tiny(BufferedImage img, int s) {
        float[] v = new float[s * s * 3];
        int[] counts = new int[s * s];
        int w = img.getWidth();
        int h = img.getHeight();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int cell = (y * s / h) * s + (x * s / w);
                int p = img.getRGB(x, y);
                v[cell * 3] += (p >> 16) & 0xff;
                v[cell * 3 + 1] += (p >> 8) & 0xff;
                v[cell * 3 + 2] += p & 0xff;
                counts[cell]++;
            }
        }
        for (int c = 0; c < counts.length; c++) {
            for (int k = 0; k < 3; k++) {
                v[c * 3 + k] /= Math.max(1, counts[c]);
            }
        }
        return normalise(v, true);
    }

    /** Joint RGB histogram with 8 bins per channel, square-rooted (Hellinger) and L2-normalised. */
    static float[] histogram(BufferedImage img) {
        float[] v = new float[512];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int p = img.getRGB(x, y);
                v[(((p >> 16) & 0xff) >> 5) * 64 + (((p >> 8) & 0xff) >> 5) * 8 + ((p & 0xff) >> 5)]++;
            }
        }
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sqrt(v[i]);
        }
        return normalise(v, false);
    }

    static float[] normalise(float[] v, boolean centre) {
        double mean = 0;
        if (centre) {
            for (float f : v) {
                mean += f;
            }
            mean /= v.length;
        }
        double norm = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] -= (float) mean;
            norm += v[i] * v[i];
        }
        float inv = (float) (1 / Math.max(1e-12, Math.sqrt(norm)));
        for (int i = 0; i < v.length; i++) {
            v[i] *= inv;
        }
        return v;
    }
}
