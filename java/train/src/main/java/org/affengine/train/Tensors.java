package org.affengine.train;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/** Small tensor helpers shared by the training code. */
final class Tensors {
    private Tensors() {}

    /** Rows scaled to unit L2 norm (the norm clamped away from zero). */
    static Tensor l2normalize(Tensor x) {
        Tensor norm = x.mul(x).sum(new long[] {x.dim() - 1}, true, new ScalarTypeOptional())
                .clamp_min(new Scalar(1e-24)).sqrt();
        return x.div(norm);
    }
}
