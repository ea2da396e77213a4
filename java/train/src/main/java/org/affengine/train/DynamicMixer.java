package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.zeros;

import java.util.ArrayList;
import java.util.List;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.TransformerEncoderLayerImpl;
import org.bytedeco.pytorch.TransformerEncoderLayerOptions;
import org.bytedeco.pytorch.kGELU;

/**
 * The AFF dynamic mixer. Every gallery feature is projected to width d by its own linear layer (a global vector to
 * one token; each local descriptor to one token, padded sets masked out); a learnable fusion token is prepended;
 * C post-norm transformer layers follow, Z' = LN(Z + MHSA(Z)), Z = LN(Z' + FFN(Z')) with FFN = GELU(Z W1) W2; the
 * output at the fusion token, L2-normalised, is the fused gallery vector g_mix.
 */
public final class DynamicMixer extends GalleryEncoder {
    /** Width d, layers C, attention heads, FFN width. */
    public record Config(int dim, int layers, int heads, int ffn) {}

    private final List<FeatureSpec> inputs;
    private final List<LinearImpl> projections = new ArrayList<>();
    private final List<TransformerEncoderLayerImpl> layers = new ArrayList<>();
    private final Tensor fusion;
    private final Config config;

    public DynamicMixer(List<FeatureSpec> inputs, Config config) {
        if (inputs.isEmpty() || config.dim() % config.heads() != 0) {
            throw new IllegalArgumentException("at least one input, and a width divisible by the heads, are needed");
        }
        this.inputs = List.copyOf(inputs);
        this.config = config;
        for (FeatureSpec s : inputs) {
            projections.add(register_module("project_" + s.name().replace('.', '_').replace('-', '_'),
                    new LinearImpl(s.dim(), config.dim())));
        }
        // Our own handle on the parameter: the reference register_parameter returns points into the module's
        // table, which moves when the table grows.
        fusion = org.bytedeco.pytorch.global.torch.randn(1, 1, config.dim()).mul(new Scalar(0.02));
        register_parameter("fusion_token", fusion);
        for (int c = 0; c < config.layers(); c++) {
            TransformerEncoderLayerOptions o = new TransformerEncoderLayerOptions(config.dim(), config.heads());
            o.dim_feedforward().put(config.ffn());
            o.dropout().put(0.0);
            o.activation().put(new kGELU());
            layers.add(register_module("layer" + c, new TransformerEncoderLayerImpl(o)));
        }
    }

    public Config config() {
        return config;
    }

    @Override
    public int dim() {
        return config.dim();
    }

    /** Projections, then per layer Q/K/V/output projections, attention and the FFN over every token. */
    @Override
    public long macs() {
        long d = config.dim();
        long tokens = 1;
        long projections = 0;
        for (FeatureSpec s : inputs) {
            long n = s.kind() == FeatureSpec.Kind.GLOBAL ? 1 : s.maxLocal();
            tokens += n;
            projections += n * s.dim() * d;
        }
        return projections + config.layers() * (4 * tokens * d * d + 2 * tokens * tokens * d
                + 2 * tokens * d * config.ffn());
    }

    @Override
    public String kind() {
        return "transformer";
    }

    @Override
    public List<FeatureSpec> inputs() {
        return inputs;
    }

    @Override
    public Tensor forward(List<Tensor> features, List<Tensor> padding) {
        checkArity(inputs, features, padding);
        long batch = features.get(0).size(0);
        TensorVector tokens = new TensorVector();
        TensorVector masks = new TensorVector();
        tokens.push_back(fusion.expand(batch, 1, config.dim()));
        masks.push_back(zeros(new long[] {batch, 1}, new TensorOptions(ScalarType.Bool)));
        for (int i = 0; i < inputs.size(); i++) {
            Tensor f = features.get(i);
            Tensor projected = projections.get(i).forward(f);
            if (inputs.get(i).kind() == FeatureSpec.Kind.GLOBAL) {
                tokens.push_back(projected.unsqueeze(1));
                masks.push_back(zeros(new long[] {batch, 1}, new TensorOptions(ScalarType.Bool)));
            } else {
                tokens.push_back(projected);
                masks.push_back(padding.get(i));
            }
        }
        // Sequence-first [S, B, d], as LibTorch's encoder layers take it; the fusion token is never masked.
        Tensor z = cat(tokens, 1).transpose(0, 1);
        Tensor mask = cat(masks, 1);
        for (TransformerEncoderLayerImpl layer : layers) {
            z = layer.forward(z, new Tensor(), mask);
        }
        return Tensors.l2normalize(z.select(0, 0));
    }
}
