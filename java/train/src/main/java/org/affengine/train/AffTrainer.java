package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.cross_entropy;
import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.randn;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntConsumer;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureStore;
import org.affengine.models.ImageBatches;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Joint AFF training, as the paper describes it: per step, the gallery features of a batch (from the feature store,
 * gallery models frozen) go through the dynamic mixer to g_mix, classified by the trained ArcFace head psi_mix; the
 * same images go through the query model to q, classified by psi_q, the momentum copy of psi_mix; the two ArcFace
 * losses are summed and the mixer, psi_mix and the query model take one SGD step together; then
 * psi_q <- alpha psi_q + (1 - alpha) psi_mix.
 */
public final class AffTrainer {
    public record Config(int steps, int batch, double lr, double momentum, double weightDecay, double alpha,
                         double scale, double margin, long seed) {}

    /** Average losses over a stretch of steps. */
    public record Point(int step, double mixerLoss, double queryLoss) {}

    private AffTrainer() {}

    public static List<Point> train(DynamicMixer mixer, QueryNet query, FeatureStore gallery, Dataset images,
                                    Config c, IntConsumer progress) {
        if (gallery.size() != images.size()) {
            throw new IllegalArgumentException("the feature store holds " + gallery.size() + " images, the dataset "
                    + images.size());
        }
        manual_seed(c.seed());
        Module heads = new Module();
        Tensor psiMix = heads.register_parameter("psi_mix", randn(images.classes(), mixer.config().dim())
                .mul(new Scalar(0.01)));
        MomentumClassifier psiQ = new MomentumClassifier(psiMix, c.alpha());
        TensorVector params = new TensorVector();
        for (Module m : new Module[] {mixer, query, heads}) {
            TensorVector p = m.parameters();
            for (long i = 0; i < p.size(); i++) {
                params.push_back(p.get(i));
            }
        }
        SGDOptions options = new SGDOptions(c.lr());
        options.momentum().put(c.momentum());
        options.weight_decay().put(c.weightDecay());
        SGD optimizer = new SGD(params, options);
        mixer.train(true);
        query.train(true);
        Random random = new Random(c.seed());
        List<Point> curve = new ArrayList<>();
        double mixSum = 0;
        double qSum = 0;
        int every = Math.max(1, c.steps() / 20);
        for (int step = 1; step <= c.steps(); step++) {
            int[] indices = new int[c.batch()];
            for (int i = 0; i < indices.length; i++) {
                indices[i] = random.nextInt(images.size());
            }
            GalleryBatches.Batch g = GalleryBatches.load(gallery, indices);
            ImageBatches.Batch q = ImageBatches.load(images, indices);
            optimizer.zero_grad();
            Tensor gMix = mixer.forward(g.features(), g.padding());
            Tensor lossMix = cross_entropy(ArcFace.logits(gMix, psiMix, q.labels(), c.scale(), c.margin()),
                    q.labels());
            Tensor qv = Tensors.l2normalize(query.embed(q.images()));
            Tensor lossQ = cross_entropy(ArcFace.logits(qv, psiQ.weight(), q.labels(), c.scale(), c.margin()),
                    q.labels());
            lossMix.add(lossQ).backward();
            optimizer.step();
            psiQ.update(psiMix);
            mixSum += lossMix.item_float();
            qSum += lossQ.item_float();
            if (step % every == 0 || step == c.steps()) {
                int n = step % every == 0 ? every : step % every;
                curve.add(new Point(step, mixSum / n, qSum / n));
                mixSum = 0;
                qSum = 0;
            }
            progress.accept(1);
        }
        mixer.train(false);
        query.train(false);
        return curve;
    }

    /** The fused gallery vectors of every image in a store, [n, d] row-major. */
    public static float[] galleryVectors(DynamicMixer mixer, FeatureStore store, int batch) {
        mixer.train(false);
        int d = mixer.config().dim();
        float[] out = new float[store.size() * d];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int start = 0; start < store.size(); start += batch) {
                int n = Math.min(batch, store.size() - start);
                int[] indices = new int[n];
                for (int i = 0; i < n; i++) {
                    indices[i] = start + i;
                }
                GalleryBatches.Batch g = GalleryBatches.load(store, indices);
                Tensor v = mixer.forward(g.features(), g.padding()).contiguous();
                ((FloatBuffer) v.createBuffer()).get(out, start * d, n * d);
            }
        }
        return out;
    }
}
