package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.one_hot;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.Tensor;

/**
 * ArcFace logits (additive angular margin): with x and the class weights L2-normalised, cos(theta_j) = x . w_j; the
 * target class gets cos(theta_y + m) instead of cos(theta_y); everything is scaled by s. Cross-entropy on these
 * logits is the ArcFace loss. The weights are passed in, so the same function serves the trained classifier of the
 * mixer and the momentum copy of the query side.
 */
public final class ArcFace {
    private ArcFace() {}

    /** @param x [B, d] embeddings; @param weight [classes, d]; @param labels [B] int64. */
    public static Tensor logits(Tensor x, Tensor weight, Tensor labels, double scale, double margin) {
        Tensor cos = Tensors.l2normalize(x).matmul(Tensors.l2normalize(weight).t()).clamp(
                new org.bytedeco.pytorch.ScalarOptional(new Scalar(-1 + 1e-7)),
                new org.bytedeco.pytorch.ScalarOptional(new Scalar(1 - 1e-7)));
        // cos(theta + m) = cos theta cos m - sin theta sin m, with sin theta = sqrt(1 - cos^2) >= 0.
        Tensor sin = cos.mul(cos).neg().add(new Scalar(1.0)).clamp_min(new Scalar(0.0)).sqrt();
        Tensor target = cos.mul(new Scalar(Math.cos(margin))).sub(sin.mul(new Scalar(Math.sin(margin))));
        Tensor oneHot = one_hot(labels, weight.size(0)).to(ScalarType.Float);
        return cos.add(oneHot.mul(target.sub(cos))).mul(new Scalar(scale));
    }
}
