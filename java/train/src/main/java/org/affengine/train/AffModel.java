package org.affengine.train;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.affengine.data.FeatureSpec;
import org.affengine.data.Features;
import org.affengine.data.ImageCodec;
import org.affengine.data.RawImage;
import org.affengine.index.Backend;
import org.affengine.mixer.NativeMixer;
import org.affengine.models.GalleryExtraction;
import org.affengine.models.GalleryModels;
import org.affengine.models.ImageBatches;
import org.affengine.models.TrainableNet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A trained AFF model, ready to encode images: on the gallery side the gallery models and the mixer (image ->
 * features -> one fused vector), on the query side the lightweight query model alone. Images are brought to the
 * models' input (28x28 grey) first. Encoding is stateless, so one instance serves many threads.
 */
public final class AffModel {
    public static final int SIDE = 28;
    private final Map<String, TrainableNet> galleryModels;
    private final ModelBundle.Loaded bundle;
    /** The fused CUDA mixer over the same bundle when a GPU is present (transformer bundles); else LibTorch. */
    private final Optional<NativeMixer> gpuMixer;

    /**
     * @param galleryModels by name, at least every feature the bundle's encoder reads, with matching specs
     */
    public AffModel(Map<String, TrainableNet> galleryModels, ModelBundle.Loaded bundle) {
        this(galleryModels, bundle, Optional.empty());
    }

    private AffModel(Map<String, TrainableNet> galleryModels, ModelBundle.Loaded bundle,
                     Optional<NativeMixer> gpuMixer) {
        this.bundle = bundle;
        this.gpuMixer = gpuMixer;
        this.galleryModels = new LinkedHashMap<>();
        for (FeatureSpec spec : bundle.encoder().inputs()) {
            TrainableNet net = galleryModels.get(spec.name());
            if (net == null || net.dim() != spec.dim()) {
                throw new IllegalArgumentException("the bundle reads gallery feature " + spec.name() + " ("
                        + spec.dim() + "-d), which no given gallery model provides");
            }
            this.galleryModels.put(spec.name(), net);
        }
    }

    /**
     * The built-in gallery models from their weights folder and a bundle trained on their features; refuses weights
     * whose checksum differs from the one the bundle was trained with.
     */
    public static AffModel load(Path bundleDir, Path weightsDir) throws IOException {
        ModelBundle.Loaded bundle = ModelBundle.load(bundleDir);
        Map<String, TrainableNet> nets = new LinkedHashMap<>();
        for (FeatureSpec spec : bundle.encoder().inputs()) {
            Path weights = GalleryModels.weightsFile(weightsDir, spec.name());
            if (!Files.exists(weights)) {
                throw new FileNotFoundException(weights + ": gallery model weights missing");
            }
            String crc = org.affengine.data.AtomicFiles.crc32c(Files.readAllBytes(weights));
            String expected = spec.details().get("weights_crc32c");
            if (expected != null && !expected.equals(crc)) {
                throw new IOException(weights + ": CRC-32C " + crc + ", the bundle was trained on " + expected);
            }
            nets.put(spec.name(), GalleryModels.load(spec.name(), weightsDir));
        }
        var gpu = bundle.encoder() instanceof DynamicMixer
                ? NativeMixer.onGpu(bundleDir, Backend.detect())
                : Optional.<NativeMixer>empty();
        return new AffModel(nets, bundle, gpu);
    }

    public int dim() {
        return bundle.encoder().dim();
    }

    /** Multiply-accumulates to describe one gallery image: every gallery model, then the mixer. */
    public long galleryMacs() {
        return galleryModels.values().stream().mapToLong(TrainableNet::macs).sum() + bundle.encoder().macs();
    }

    /** Where the mixer runs for gallery images: "cuda" (the fused kernel) or "cpu" (LibTorch). */
    public String mixerBackend() {
        return gpuMixer.isPresent() ? "cuda" : "cpu";
    }

    public ModelBundle.Meta meta() {
        return bundle.meta();
    }

    /** Gallery-side vectors (unit length), one per image. */
    public float[][] galleryVectors(List<RawImage> images) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            List<Features> features = GalleryExtraction.describe(galleryModels, batch(images), null);
            if (gpuMixer.isPresent()) {
                return mixOnGpu(gpuMixer.get(), features, images.size());
            }
            GalleryBatches.Batch b = GalleryBatches.of(bundle.encoder().inputs(), features);
            return rows(bundle.encoder().forward(b.features(), b.padding()), images.size());
        }
    }

    /**
     * Gallery-side vectors of images whose gallery features are already in a store (bulk indexing), [n * d]
     * row-major; the store must hold the features the bundle was trained on.
     */
    public float[] galleryVectors(org.affengine.data.FeatureStore store) {
        if (!store.models().containsAll(bundle.encoder().inputs())) {
            throw new IllegalArgumentException("the feature store was made by other gallery models than the bundle's");
        }
        return AffTrainer.galleryVectors(bundle.encoder(), store, 500);
    }

    /** Query-side vectors (unit length), one per image. */
    public float[][] queryVectors(List<RawImage> images) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            return rows(Tensors.l2normalize(bundle.query().embed(batch(images))), images.size());
        }
    }

    /** Images as the models take them: grey, 28x28 (resized when needed), normalised. */
    static Tensor batch(List<RawImage> images) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images");
        }
        float[] pixels = new float[images.size() * SIDE * SIDE];
        for (int i = 0; i < images.size(); i++) {
            RawImage img = grey(images.get(i));
            if (img.width() != SIDE || img.height() != SIDE) {
                img = ImageCodec.resize(img, SIDE, SIDE);
            }
            System.arraycopy(ImageCodec.toChw(img, ImageBatches.FASHION_MEAN, ImageBatches.FASHION_STD), 0, pixels,
                    i * SIDE * SIDE, SIDE * SIDE);
        }
        return Tensor.create(pixels, images.size(), 1, SIDE, SIDE);
    }

    /** Luma (BT.601) of a colour image; grey images unchanged. */
    static RawImage grey(RawImage img) {
        if (img.channels() == 1) {
            return img;
        }
        byte[] out = new byte[img.width() * img.height()];
        byte[] p = img.pixels();
        for (int i = 0; i < out.length; i++) {
            int r = p[3 * i] & 0xff;
            int g = p[3 * i + 1] & 0xff;
            int b = p[3 * i + 2] & 0xff;
            out[i] = (byte) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
        }
        return new RawImage(img.width(), img.height(), 1, out);
    }

    private float[][] mixOnGpu(NativeMixer mixer, List<Features> features, int n) {
        GalleryBatches.Packed packed = GalleryBatches.packed(bundle.encoder().inputs(), features);
        return split(mixer.forward(n, packed.features(), packed.padding()), n, mixer.dim());
    }

    private static float[][] rows(Tensor t, int n) {
        Tensor c = t.contiguous();
        int d = (int) c.size(1);
        float[] flat = new float[n * d];
        ((FloatBuffer) c.createBuffer()).get(flat);
        return split(flat, n, d);
    }

    /** Row-major [n, d] as n arrays. */
    private static float[][] split(float[] flat, int n, int d) {
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        }
        return out;
    }
}
