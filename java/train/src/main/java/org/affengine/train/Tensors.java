package org.affengine.train;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Small tensor helpers shared by the training code. */
final class Tensors {
    private Tensors() {}

    /** Rows scaled to unit L2 norm (the norm clamped away from zero). */
    static Tensor l2normalize(Tensor x) {
        Tensor norm = x.mul(x).sum(new long[] {x.dim() - 1}, true, new ScalarTypeOptional())
                .clamp_min(new Scalar(1e-24)).sqrt();
        return x.div(norm);
    }

    /** Mean over the real rows of padded sets: x [B, n, d], padding [B, n] (true = padding) -> [B, d]. */
    static Tensor maskedMean(Tensor x, Tensor padding) {
        Tensor keep = padding.logical_not().to(ScalarType.Float).unsqueeze(2);
        Tensor count = keep.sum(new long[] {1}, false, new ScalarTypeOptional()).clamp_min(new Scalar(1.0));
        return x.mul(keep).sum(new long[] {1}, false, new ScalarTypeOptional()).div(count);
    }
}
