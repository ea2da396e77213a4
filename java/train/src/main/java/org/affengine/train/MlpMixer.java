package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.gelu;

import java.util.List;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The paper's "simple baseline" fusion: every gallery feature as one vector (a local set by the mean of its real
 * descriptors), concatenated, then a two-layer MLP, GELU(x W1) W2, L2-normalised. No attention: it cannot weigh
 * one feature against another per image, which is what the dynamic mixer adds.
 */
public final class MlpMixer extends GalleryEncoder {
    private final List<FeatureSpec> inputs;
    private final LinearImpl hidden;
    private final LinearImpl output;
    private final int dim;
    private final int width;

    public MlpMixer(List<FeatureSpec> inputs, int dim, int width) {
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("at least one input is needed");
        }
        this.inputs = List.copyOf(inputs);
        this.dim = dim;
        this.width = width;
        int concat = inputs.stream().mapToInt(FeatureSpec::dim).sum();
        hidden = register_module("hidden", new LinearImpl(concat, width));
        output = register_module("output", new LinearImpl(width, dim));
    }

    @Override
    public List<FeatureSpec> inputs() {
        return inputs;
    }

    @Override
    public int dim() {
        return dim;
    }

    /** Width of the hidden layer. */
    public int width() {
        return width;
    }

    @Override
    public long macs() {
        return (long) inputs.stream().mapToInt(FeatureSpec::dim).sum() * width + (long) width * dim;
    }

    @Override
    public String kind() {
        return "mlp";
    }

    @Override
    public Tensor forward(List<Tensor> features, List<Tensor> padding) {
        checkArity(inputs, features, padding);
        TensorVector parts = new TensorVector();
        for (int i = 0; i < inputs.size(); i++) {
            parts.push_back(inputs.get(i).kind() == FeatureSpec.Kind.GLOBAL ? features.get(i)
                    : Tensors.maskedMean(features.get(i), padding.get(i)));
        }
        return Tensors.l2normalize(output.forward(gelu(hidden.forward(cat(parts, 1)))));
    }
}
