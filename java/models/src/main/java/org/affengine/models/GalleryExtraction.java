package org.affengine.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.FeatureStoreWriter;
import org.affengine.data.Features;
import org.affengine.eval.ClassEval;
import org.affengine.index.Metric;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs every gallery model over a dataset once, in batches, into a feature store (resuming where a previous run
 * stopped), timing each model; then reads the store back and scores each model's own class-level retrieval.
 */
public final class GalleryExtraction {
    private GalleryExtraction() {}

    /** Seconds each model spent on the images this run extracted. */
    public record Timing(Map<String, Double> seconds, int images) {}

    public static Timing extract(Dataset data, Map<String, TrainableNet> models, List<FeatureSpec> specs, Path out,
                                 int shardSize, int batch, IntConsumer progress) throws IOException {
        Map<String, Double> seconds = new LinkedHashMap<>();
        models.keySet().forEach(m -> seconds.put(m, 0.0));
        int done = 0;
        try (FeatureStoreWriter writer = FeatureStoreWriter.open(out, data.name(), data.split(), data.size(),
                shardSize, specs); NoGradGuard guard = new NoGradGuard()) {
            progress.accept(writer.nextIndex());
            for (int start = writer.nextIndex(); start < data.size(); start += batch) {
                try (PointerScope scope = new PointerScope()) {
                    int n = Math.min(batch, data.size() - start);
                    int[] indices = new int[n];
                    for (int i = 0; i < n; i++) {
                        indices[i] = start + i;
                    }
                    List<Features> features = describe(models, ImageBatches.load(data, indices).images(), seconds);
                    for (Features f : features) {
                        writer.append(f);
                    }
                    done += n;
                    progress.accept(n);
                }
            }
        }
        return new Timing(seconds, done);
    }

    /**
     * Every model's features of a batch of images [B, C, H, W]: global vectors L2-normalised, local sets as the
     * DELF-style model selects them. Adds each model's seconds to {@code seconds} when it is not null.
     */
    public static List<Features> describe(Map<String, TrainableNet> models, Tensor images,
                                          Map<String, Double> seconds) {
        int n = (int) images.size(0);
        List<Map<String, float[]>> globals = new ArrayList<>();
        List<Map<String, Features.LocalSet>> locals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            globals.add(new LinkedHashMap<>());
            locals.add(new LinkedHashMap<>());
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, TrainableNet> m : models.entrySet()) {
                long t0 = System.nanoTime();
                if (m.getValue() instanceof GlobalNet g) {
                    float[] v = new float[n * g.dim()];
                    ((java.nio.FloatBuffer) g.embed(images).contiguous().createBuffer()).get(v);
                    for (int i = 0; i < n; i++) {
                        globals.get(i).put(m.getKey(), normalised(v, i * g.dim(), g.dim()));
                    }
                } else {
                    Features.LocalSet[] sets = ((DelfLocal) m.getValue()).extract(images, GalleryModels.MAX_LOCAL);
                    for (int i = 0; i < n; i++) {
                        locals.get(i).put(m.getKey(), sets[i]);
                    }
                }
                if (seconds != null) {
                    seconds.merge(m.getKey(), (System.nanoTime() - t0) / 1e9, Double::sum);
                }
            }
        }
        List<Features> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Features(globals.get(i), locals.get(i)));
        }
        return out;
    }

    /** A unit-length copy of v[from, from + dim). */
    static float[] normalised(float[] v, int from, int dim) {
        float[] out = java.util.Arrays.copyOfRange(v, from, from + dim);
        Layers.normaliseRows(out, 0, 1, dim);
        return out;
    }

    /**
     * Class-level mAP of each model from the store: global vectors as stored; local sets aggregated into one vector
     * per image (the normalised mean of its descriptors), each image against the rest.
     */
    public static Map<String, ClassEval.Result> evaluate(FeatureStore store, int[] labels) {
        Map<String, ClassEval.Result> out = new LinkedHashMap<>();
        int n = store.size();
        for (FeatureSpec spec : store.models()) {
            float[] vectors = new float[n * spec.dim()];
            for (int i = 0; i < n; i++) {
                float[] v;
                if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                    v = store.global(spec.name(), i);
                } else {
                    Features.LocalSet l = store.local(spec.name(), i);
                    float[] mean = new float[spec.dim()];
                    for (int r = 0; r < l.count(); r++) {
                        for (int k = 0; k < spec.dim(); k++) {
                            mean[k] += l.rows()[r * spec.dim() + k];
                        }
                    }
                    v = normalised(mean, 0, spec.dim());
                }
                System.arraycopy(v, 0, vectors, i * spec.dim(), spec.dim());
            }
            out.put(spec.name(), ClassEval.evaluate(vectors, labels, vectors, labels, spec.dim(),
                    Metric.INNER_PRODUCT, true));
        }
        return out;
    }

    /** Bytes of shard files per image. */
    public static double bytesPerImage(Path store, int images) throws IOException {
        long total = 0;
        try (Stream<Path> files = Files.list(store)) {
            for (Path p : files.toList()) {
                total += Files.size(p);
            }
        }
        return (double) total / images;
    }
}
