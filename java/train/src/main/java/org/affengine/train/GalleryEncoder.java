package org.affengine.train;

import java.util.List;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * Turns the stored gallery features of a batch of images into one unit-length gallery vector per image. The AFF
 * dynamic mixer is one; the experiment's baselines (the concat-MLP mixer, a single frozen gallery model) are others,
 * so they all train and evaluate through the same code.
 */
public abstract class GalleryEncoder extends Module {
    /** The gallery features it reads, in the order of {@link #forward}'s lists. */
    public abstract List<FeatureSpec> inputs();

    /** Length of the output vectors. */
    public abstract int dim();

    /** Multiply-accumulates per image (the fusion alone, not the gallery models that made the features). */
    public abstract long macs();

    /** A short name for reports and bundles. */
    public abstract String kind();

    /**
     * @param features per input: a global [B, D_i], or a local [B, n_i, d_i] padded set
     * @param padding per input: null for a global, [B, n_i] bool (true = padding) for a local
     * @return [B, dim], unit length
     */
    public abstract Tensor forward(List<Tensor> features, List<Tensor> padding);

    static void checkArity(List<FeatureSpec> inputs, List<Tensor> features, List<Tensor> padding) {
        if (features.size() != inputs.size() || padding.size() != inputs.size()) {
            throw new IllegalArgumentException("expected " + inputs.size() + " inputs, got " + features.size());
        }
    }
}
