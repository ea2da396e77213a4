package org.affengine.train;

import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.IntConsumer;
import org.affengine.data.Features;
import org.affengine.data.RawImage;
import org.affengine.models.AttentionLocal;
import org.affengine.models.KerasGraph;
import org.affengine.models.Layers;
import org.affengine.models.OpenCvLocal;
import org.affengine.models.TfjsInput;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/**
 * Describes photographs for the AFF experiment on photos, one pass per image: the gallery models (GeM over
 * InceptionV3's mixed7 and over MobileNetV2's block_13_expand_relu, both ImageNet-pretrained and imported from
 * TF.js; OpenCV SIFT as a local model; the mixed7 maps kept for the learned local model, an {@link AttentionLocal}
 * trained on them afterwards) and the query model's frozen trunk: MobileNetV2 up to a cut layer at or before
 * block_13_expand_relu, its map averaged over 2 x 2 cells, which the trainable {@link TrunkHead} takes (the
 * MobileNetV2 layers after the cut, fine-tuned, then a head).
 */
final class PhotoDescriber {
    static final String INCEPTION = "inception_v3";
    static final String INCEPTION_LAYER = "mixed7";
    static final String MOBILENET = "mobilenet_v2";
    static final String MOBILENET_LAYER = "block_13_expand_relu";

    /**
     * n images' descriptors: GeM vectors [n x C] row-major, SIFT sets, the learned local model's sets (trained on
     * the InceptionV3 maps after describing, so filled in later), and trunk maps [n x C x s x s]. Cache entries hold
     * some of the parts, the others empty.
     */
    record Described(float[] inception, float[] mobilenet, List<Features.LocalSet> sift,
                     List<Features.LocalSet> attention, float[] maps) {
        static Described mapsOnly(float[] maps) {
            return new Described(new float[0], new float[0], List.of(), List.of(), maps);
        }

        static Described attentionOnly(List<Features.LocalSet> attention) {
            return new Described(new float[0], new float[0], List.of(), attention, new float[0]);
        }

        Described withMaps(float[] m) {
            return new Described(inception, mobilenet, sift, attention, m);
        }

        Described withAttention(List<Features.LocalSet> a) {
            return new Described(inception, mobilenet, sift, a, maps);
        }
    }

    final Path backbones;
    final KerasGraph inception;
    final KerasGraph mobilenet;
    final OpenCvLocal sift;
    final String trunkCut;
    final int inceptionDim;
    final int inceptionSide;  // of the mixed7 map
    final int mobilenetDim;
    final int mapChannels;
    final int mapSide;  // after the 2 x 2 average

    /** trunkCut: the MobileNetV2 layer whose map the query trunk ends with (at or before block_13_expand_relu). */
    PhotoDescriber(Path backbones, int maxLocal, String trunkCut) throws IOException {
        this.backbones = backbones;
        inception = KerasGraph.load(backbones.resolve(INCEPTION));
        mobilenet = KerasGraph.load(backbones.resolve(MOBILENET));
        sift = new OpenCvLocal(OpenCvLocal.Kind.SIFT, maxLocal);
        this.trunkCut = trunkCut;
        long[] in = inception.outputShape(INCEPTION_LAYER);
        long[] gallery = mobilenet.outputShape(MOBILENET_LAYER);
        long[] mb = mobilenet.outputShape(trunkCut);  // Keras layout: [1, H, W, C]
        inceptionDim = (int) in[in.length - 1];
        inceptionSide = (int) in[1];
        mobilenetDim = (int) gallery[gallery.length - 1];
        mapChannels = (int) mb[mb.length - 1];
        if (mb.length != 4 || mb[1] % 2 != 0 || mb[1] != mb[2]) {
            throw new IllegalArgumentException(trunkCut + " is " + java.util.Arrays.toString(mb)
                    + "; the 2 x 2 average needs a square map of even side");
        }
        mapSide = (int) mb[1] / 2;
        mobilenet.segment(trunkCut, MOBILENET_LAYER, 1).close();  // refuses a cut the query model cannot start from
    }

    /** The query model's MobileNetV2 layers after the cut, trainable (step: see {@link KerasGraph#segment}). */
    KerasGraph.Segment tunedLayers(double step) {
        return mobilenet.segment(trunkCut, MOBILENET_LAYER, step);
    }

    int mapValues() {
        return mapChannels * mapSide * mapSide;
    }

    /** The descriptions of images rows of d, in that order (every part of d that is not empty). */
    Described select(Described d, int[] rows) {
        List<Features.LocalSet> sift = new ArrayList<>();
        List<Features.LocalSet> attention = new ArrayList<>();
        for (int r : rows) {
            if (!d.sift().isEmpty()) {
                sift.add(d.sift().get(r));
            }
            if (!d.attention().isEmpty()) {
                attention.add(d.attention().get(r));
            }
        }
        return new Described(select(d.inception(), inceptionDim, rows), select(d.mobilenet(), mobilenetDim, rows),
                sift, attention, select(d.maps(), mapValues(), rows));
    }

    private static float[] select(float[] values, int per, int[] rows) {
        if (values.length == 0) {
            return values;
        }
        float[] out = new float[rows.length * per];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(values, rows[i] * per, out, i * per, per);
        }
        return out;
    }

    /** Multiply-accumulates per image of the query's frozen trunk, of the MobileNetV2 gallery model, of InceptionV3. */
    long trunkMacs() {
        return mobilenet.macs(trunkCut);
    }

    long mobilenetMacs() {
        return mobilenet.macs(MOBILENET_LAYER);
    }

    long inceptionMacs() {
        return inception.macs(INCEPTION_LAYER);
    }

    /**
     * Describes the images in batches, telling progress the number done after each batch; unless inceptionMaps is
     * null, also keeps their InceptionV3 maps there (the learned local model's input).
     */
    Described describe(List<RawImage> images, int batch, IntConsumer progress, HalfMaps inceptionMaps) {
        int n = images.size();
        float[] inc = new float[n * inceptionDim];
        float[] mob = new float[n * mobilenetDim];
        float[] maps = new float[n * mapValues()];
        List<Features.LocalSet> locals = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            List<RawImage> part = images.subList(start, Math.min(n, start + batch));
            KerasGraph.Output map = inceptionMap(part);
            float[] g = map.gem(3);
            System.arraycopy(g, 0, inc, start * inceptionDim, g.length);
            if (inceptionMaps != null) {
                inceptionMaps.put(start, part.size(), map.values());
            }
            trunk(part, mob, start * mobilenetDim, maps, start * mapValues());
            for (RawImage img : part) {
                locals.add(sift.extract(img));
            }
            progress.accept(start + part.size());
        }
        return new Described(inc, mob, locals, List.of(), maps);
    }

    /** Only the InceptionV3 maps of the images, into out, in batches, telling progress as above. */
    void inceptionMaps(List<RawImage> images, int batch, IntConsumer progress, HalfMaps out) {
        int n = images.size();
        for (int start = 0; start < n; start += batch) {
            List<RawImage> part = images.subList(start, Math.min(n, start + batch));
            out.put(start, part.size(), inceptionMap(part).values());
            progress.accept(start + part.size());
        }
    }

    /** Room for n images' InceptionV3 maps, with their labels. */
    HalfMaps inceptionMapsFor(int[] labels, int classes) {
        return new HalfMaps(labels, classes, inceptionSide, inceptionDim);
    }

    /** The learned local model on the InceptionV3 map, untrained. */
    AttentionLocal attentionLocal(int hidden, int dim) {
        return new AttentionLocal(INCEPTION + "-" + INCEPTION_LAYER, inceptionDim, inceptionSide,
                (double) inception.inputShape()[0] / inceptionSide, hidden, dim);
    }

    private KerasGraph.Output inceptionMap(List<RawImage> images) {
        int side = (int) inception.inputShape()[0];
        return inception.run(TfjsInput.nhwc(images, side), images.size(), List.of(INCEPTION_LAYER))
                .get(INCEPTION_LAYER);
    }

    /** Only the trunk maps of the images (MobileNetV2 up to the cut), in batches, telling progress as above. */
    float[] maps(List<RawImage> images, int batch, IntConsumer progress) {
        int n = images.size();
        float[] maps = new float[n * mapValues()];
        for (int start = 0; start < n; start += batch) {
            List<RawImage> part = images.subList(start, Math.min(n, start + batch));
            trunk(part, null, 0, maps, start * mapValues());
            progress.accept(start + part.size());
        }
        return maps;
    }

    /**
     * The trunk map of the images (the cut layer's map averaged 2 x 2, into maps at mapsAt) and, unless gem is null,
     * the MobileNetV2 gallery model's GeM (into gem at gemAt).
     */
    void trunk(List<RawImage> images, float[] gem, int gemAt, float[] maps, int mapsAt) {
        int side = (int) mobilenet.inputShape()[0];
        int b = images.size();
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = Tensor.create(TfjsInput.nhwc(images, side), b, side, side, 3).permute(0, 3, 1, 2).contiguous();
            java.util.Map<String, Tensor> out = mobilenet.forward(x, gem == null ? Set.of(trunkCut)
                    : Set.copyOf(List.of(trunkCut, MOBILENET_LAYER)));  // the two may be the same layer
            if (gem != null) {
                ((FloatBuffer) Layers.gem(out.get(MOBILENET_LAYER)).contiguous().createBuffer()).get(gem, gemAt,
                        b * mobilenetDim);
            }
            Tensor pooled = out.get(trunkCut).reshape(b, mapChannels, mapSide, 2, mapSide, 2).mean(new long[] {3, 5},
                    false, new ScalarTypeOptional()).contiguous();
            ((FloatBuffer) pooled.createBuffer()).get(maps, mapsAt, b * mapValues());
        }
    }

    /** A decoded image as 8-bit RGB. */
    static RawImage rgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] px = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                px[i] = (byte) (row[x] >> 16);
                px[i + 1] = (byte) (row[x] >> 8);
                px[i + 2] = (byte) row[x];
            }
        }
        return new RawImage(w, h, 3, px);
    }
}
