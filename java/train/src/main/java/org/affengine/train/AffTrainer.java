package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.cross_entropy;
import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.randn;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.models.GlobalNet;
import org.affengine.models.TrainingInputs;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * AFF training, as the paper describes it. Per step, the gallery features of a batch (from the feature store,
 * gallery models frozen) go through the gallery encoder (the dynamic mixer) to g, classified by the trained ArcFace
 * head psi_mix; the same images go through the query model to q, classified by psi_q, the momentum copy of psi_mix;
 * the two ArcFace losses are summed and encoder, psi_mix and query model take one optimiser step together; then
 * psi_q <- alpha psi_q + (1 - alpha) psi_mix.
 *
 * <p>The two-stage schedule (an ablation, and the BCT-style single-model baseline) first trains the encoder and
 * psi_mix alone for the same number of steps, then the query model alone against the frozen final psi_mix.
 */
public final class AffTrainer {
    public enum Schedule { JOINT, TWO_STAGE }

    /**
     * lr and weightDecay are AdamW's (one optimiser for everything trained, decoupled weight decay). localDropout:
     * the probability that a training step hides one image's local set from the encoder (0, the paper's training:
     * never), so that the fused vector cannot rest on local tokens alone.
     */
    public record Config(int steps, int batch, double lr, double weightDecay, double alpha, double scale,
                         double margin, long seed, Schedule schedule, double localDropout) {
        public Config {
            if (steps < 1 || batch < 2) {
                throw new IllegalArgumentException("steps must be >= 1 and batch >= 2");
            }
            if (!(localDropout >= 0 && localDropout < 1)) {
                throw new IllegalArgumentException("localDropout must be in [0, 1), not " + localDropout);
            }
        }

        /** Without local dropout, as the paper trains. */
        public Config(int steps, int batch, double lr, double weightDecay, double alpha, double scale, double margin,
                      long seed, Schedule schedule) {
            this(steps, batch, lr, weightDecay, alpha, scale, margin, seed, schedule, 0);
        }

        public Config withAlpha(double a) {
            return new Config(steps, batch, lr, weightDecay, a, scale, margin, seed, schedule, localDropout);
        }

        public Config withSchedule(Schedule s) {
            return new Config(steps, batch, lr, weightDecay, alpha, scale, margin, seed, s, localDropout);
        }
    }

    /**
     * Losses and training accuracies (nearest class weight, no margin) averaged over a stretch of steps; NaN for a
     * side that did not train in that stretch (two-stage).
     */
    public record Point(int step, double mixerLoss, double queryLoss, double mixerAccuracy, double queryAccuracy) {}

    /** Told after every step, and at every curve point. */
    public interface Progress {
        void step();

        default void point(Point p) {}
    }

    /** Held while seeding LibTorch's global generator and drawing initial weights (trainings may run in parallel). */
    static final Object SEEDING = new Object();

    private AffTrainer() {}

    public static List<Point> train(GalleryEncoder encoder, QueryNet query, FeatureStore gallery, Dataset images,
                                    Config c, Progress progress) {
        return train(encoder, query, gallery, TrainingInputs.images(images), c, progress);
    }

    /** As above, for any query model: the training items' query inputs come from {@code images}. */
    public static List<Point> train(GalleryEncoder encoder, GlobalNet query, FeatureStore gallery,
                                    TrainingInputs images, Config c, Progress progress) {
        if (gallery.size() != images.size()) {
            throw new IllegalArgumentException("the feature store holds " + gallery.size() + " images, the dataset "
                    + images.size());
        }
        if (!gallery.models().containsAll(encoder.inputs())) {
            throw new IllegalArgumentException("the feature store lacks some of the encoder's inputs "
                    + encoder.inputs().stream().map(FeatureSpec::name).toList());
        }
        if (query.dim() != encoder.dim()) {
            throw new IllegalArgumentException("query model width " + query.dim() + " != gallery width "
                    + encoder.dim());
        }
        Module heads = new Module();
        Tensor psiMix;
        synchronized (SEEDING) {
            manual_seed(c.seed());
            psiMix = randn(images.classes(), encoder.dim()).mul(new Scalar(0.01));
            heads.register_parameter("psi_mix", psiMix);  // shares psiMix's storage (see DynamicMixer)
        }
        Random random = new Random(c.seed());
        Random dropout = new Random(c.seed() ^ 0x5DEECE66DL);  // apart, so the batches drawn do not depend on it
        Run run = new Run(c, progress);
        if (c.schedule() == Schedule.JOINT) {
            MomentumClassifier psiQ = new MomentumClassifier(psiMix, c.alpha());
            AdamW optimizer = adamw(c, encoder, query, heads);
            encoder.train(true);
            query.train(true);
            for (int step = 1; step <= c.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    int[] indices = sample(random, images.size(), c.batch());
                    GalleryBatches.Batch g = dropLocal(GalleryBatches.load(gallery, encoder.inputs(), indices),
                            c.localDropout(), dropout);
                    Tensor labels = images.labels(indices);
                    optimizer.zero_grad();
                    Tensor gv = encoder.forward(g.features(), g.padding());
                    Tensor lossMix = cross_entropy(ArcFace.logits(gv, psiMix, labels, c.scale(), c.margin()),
                            labels);
                    Tensor qv = Tensors.l2normalize(query.embed(images.inputs(indices)));
                    Tensor lossQ = cross_entropy(ArcFace.logits(qv, psiQ.weight(), labels, c.scale(),
                            c.margin()), labels);
                    lossMix.add(lossQ).backward();
                    optimizer.step();
                    psiQ.update(psiMix);
                    run.record(step, lossMix.item_float(), lossQ.item_float(), accuracy(gv, psiMix, labels),
                            accuracy(qv, psiQ.weight(), labels));
                }
            }
        } else {
            AdamW optimizer = adamw(c, encoder, heads);
            encoder.train(true);
            for (int step = 1; step <= c.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    int[] indices = sample(random, images.size(), c.batch());
                    GalleryBatches.Batch g = dropLocal(GalleryBatches.load(gallery, encoder.inputs(), indices),
                            c.localDropout(), dropout);
                    Tensor labels = images.labels(indices);
                    optimizer.zero_grad();
                    Tensor gv = encoder.forward(g.features(), g.padding());
                    Tensor loss = cross_entropy(ArcFace.logits(gv, psiMix, labels, c.scale(), c.margin()), labels);
                    loss.backward();
                    optimizer.step();
                    run.record(step, loss.item_float(), Double.NaN, accuracy(gv, psiMix, labels), Double.NaN);
                }
            }
            encoder.train(false);
            // The query model trains against the gallery classifier as it ended, frozen (alpha = 1 from here on).
            Tensor psiFrozen = psiMix.detach().clone();
            AdamW queryOptimizer = adamw(c, query);
            query.train(true);
            for (int step = 1; step <= c.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    int[] indices = sample(random, images.size(), c.batch());
                    Tensor labels = images.labels(indices);
                    queryOptimizer.zero_grad();
                    Tensor qv = Tensors.l2normalize(query.embed(images.inputs(indices)));
                    Tensor loss = cross_entropy(ArcFace.logits(qv, psiFrozen, labels, c.scale(), c.margin()),
                            labels);
                    loss.backward();
                    queryOptimizer.step();
                    run.record(c.steps() + step, Double.NaN, loss.item_float(), Double.NaN,
                            accuracy(qv, psiFrozen, labels));
                }
            }
        }
        encoder.train(false);
        query.train(false);
        return run.curve;
    }

    /** Averages per stretch of steps: 20 points per stage. */
    private static final class Run {
        final List<Point> curve = new ArrayList<>();
        final int every;
        final Progress progress;
        final double[] sums = new double[4];
        int n;

        Run(Config c, Progress progress) {
            this.every = Math.max(1, c.steps() / 20);
            this.progress = progress;
        }

        void record(int step, double mixLoss, double qLoss, double mixAcc, double qAcc) {
            sums[0] += mixLoss;
            sums[1] += qLoss;
            sums[2] += mixAcc;
            sums[3] += qAcc;
            n++;
            progress.step();
            if (n == every) {
                Point p = new Point(step, sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n);
                curve.add(p);
                progress.point(p);
                java.util.Arrays.fill(sums, 0);
                n = 0;
            }
        }
    }

    /** The batch with each image's local sets hidden (all padding), each with probability p. */
    static GalleryBatches.Batch dropLocal(GalleryBatches.Batch g, double p, Random random) {
        if (p == 0) {
            return g;
        }
        List<Tensor> padding = new ArrayList<>();
        for (Tensor pad : g.padding()) {
            if (pad == null) {
                padding.add(null);
                continue;
            }
            int batch = (int) pad.size(0);
            boolean[] hide = new boolean[batch];
            for (int b = 0; b < batch; b++) {
                hide[b] = random.nextDouble() < p;
            }
            padding.add(pad.logical_or(Tensor.create(hide).reshape(batch, 1)));
        }
        return new GalleryBatches.Batch(g.features(), padding);
    }

    private static AdamW adamw(Config c, Module... modules) {
        TensorVector params = new TensorVector();
        for (Module m : modules) {
            TensorVector p = m.parameters();
            for (long i = 0; i < p.size(); i++) {
                params.push_back(p.get(i));
            }
        }
        AdamWOptions options = new AdamWOptions(c.lr());
        options.weight_decay().put(c.weightDecay());
        return new AdamW(params, options);
    }

    private static int[] sample(Random random, int size, int batch) {
        int[] indices = new int[batch];
        for (int i = 0; i < batch; i++) {
            indices[i] = random.nextInt(size);
        }
        return indices;
    }

    /** Fraction of rows whose nearest class weight (by cosine) is their label. */
    static double accuracy(Tensor x, Tensor weight, Tensor labels) {
        try (NoGradGuard guard = new NoGradGuard()) {
            Tensor cos = Tensors.l2normalize(x).matmul(Tensors.l2normalize(weight).t());
            return cos.argmax(new LongOptional(1), false).eq(labels).to(
                    org.bytedeco.pytorch.global.torch.ScalarType.Float).mean().item_float();
        }
    }

    /** The gallery vectors of every image in a store, [n, d] row-major. */
    public static float[] galleryVectors(GalleryEncoder encoder, FeatureStore store, int batch) {
        encoder.train(false);
        int d = encoder.dim();
        float[] out = new float[store.size() * d];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int start = 0; start < store.size(); start += batch) {
                try (PointerScope scope = new PointerScope()) {
                    int n = Math.min(batch, store.size() - start);
                    GalleryBatches.Batch g = GalleryBatches.load(store, encoder.inputs(), range(start, n));
                    Tensor v = encoder.forward(g.features(), g.padding()).contiguous();
                    ((FloatBuffer) v.createBuffer()).get(out, start * d, n * d);
                }
            }
        }
        return out;
    }

    /** The query vectors (unit length) of every image of a dataset, [n, d] row-major. */
    public static float[] queryVectors(QueryNet query, Dataset images, int batch) {
        return queryVectors(query, TrainingInputs.images(images), batch);
    }

    /** The query vectors (unit length) of every item, [n, d] row-major. */
    public static float[] queryVectors(GlobalNet query, TrainingInputs items, int batch) {
        query.train(false);
        int d = query.dim();
        float[] out = new float[items.size() * d];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int start = 0; start < items.size(); start += batch) {
                try (PointerScope scope = new PointerScope()) {
                    int n = Math.min(batch, items.size() - start);
                    Tensor v = Tensors.l2normalize(query.embed(items.inputs(range(start, n)))).contiguous();
                    ((FloatBuffer) v.createBuffer()).get(out, start * d, n * d);
                }
            }
        }
        return out;
    }

    private static int[] range(int start, int n) {
        int[] indices = new int[n];
        for (int i = 0; i < n; i++) {
            indices[i] = start + i;
        }
        return indices;
    }
}
