package org.affengine.train;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * The query side's classifier psi_q: never trained by gradient. After every step its weights follow the mixer's
 * classifier psi_mix as an exponential moving average, w_q <- alpha * w_q + (1 - alpha) * w_mix, so the query model
 * is pulled towards where the fused gallery vectors' classes are, not towards a classifier of its own.
 * alpha = 0 couples the two classifiers (the paper's ablation).
 */
public final class MomentumClassifier {
    private final Tensor weight;
    private final double alpha;

    /** Starts as a copy of the mixer's classifier weights. */
    public MomentumClassifier(Tensor mixerWeight, double alpha) {
        if (alpha < 0 || alpha >= 1) {
            throw new IllegalArgumentException("momentum alpha must be in [0, 1), got " + alpha);
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            this.weight = mixerWeight.detach().clone();
        }
        weight.requires_grad_(false);
        this.alpha = alpha;
    }

    public double alpha() {
        return alpha;
    }

    /** The current weights; they carry no gradient. */
    public Tensor weight() {
        return weight;
    }

    /** One EMA step towards the mixer classifier's current weights. */
    public void update(Tensor mixerWeight) {
        try (NoGradGuard guard = new NoGradGuard()) {
            weight.mul_(new Scalar(alpha)).add_(mixerWeight.detach(), new Scalar(1 - alpha));
        }
    }
}
