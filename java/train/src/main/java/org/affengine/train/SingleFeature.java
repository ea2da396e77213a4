package org.affengine.train;

import java.util.List;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.Tensor;

/**
 * One frozen gallery model on its own, no fusion and nothing to train: its global vector, or for a local model the
 * normalised mean of its real descriptors. The single-model baselines train a query model against this.
 */
public final class SingleFeature extends GalleryEncoder {
    private final FeatureSpec input;

    public SingleFeature(FeatureSpec input) {
        this.input = input;
    }

    @Override
    public List<FeatureSpec> inputs() {
        return List.of(input);
    }

    @Override
    public int dim() {
        return input.dim();
    }

    @Override
    public long macs() {
        return 0;
    }

    @Override
    public String kind() {
        return "single:" + input.name();
    }

    @Override
    public Tensor forward(List<Tensor> features, List<Tensor> padding) {
        checkArity(inputs(), features, padding);
        Tensor v = input.kind() == FeatureSpec.Kind.GLOBAL ? features.get(0)
                : Tensors.maskedMean(features.get(0), padding.get(0));
        return Tensors.l2normalize(v);
    }
}
