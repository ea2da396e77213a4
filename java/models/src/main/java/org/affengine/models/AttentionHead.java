package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.relu;
import static org.bytedeco.pytorch.global.torch.softplus;

import java.nio.FloatBuffer;
import org.affengine.aggregate.LocalSelection;
import org.affengine.data.Features;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/**
 * The DELF-style local head over a feature map [B, C, H, W]: an attention branch (1x1 conv to a hidden width, ReLU,
 * 1x1 conv to one score, softplus) scores every location, a 1x1 conv turns every location into a descriptor.
 * Training classifies the attention-weighted mean of the descriptors, which teaches attention which locations
 * matter; extraction keeps the top-n locations by attention ({@link LocalSelection}: the native core, on the GPU
 * when there is one). Its layers are registered on the owning network as attention1, attention2 and descriptor, so
 * the owner's saved weights name them directly.
 */
final class AttentionHead {
    private final Conv2dImpl attention1;
    private final Conv2dImpl attention2;
    private final Conv2dImpl descriptor;
    private final long channels;
    private final long hidden;
    private final int dim;

    AttentionHead(Module owner, long channels, long hidden, int dim) {
        this.channels = channels;
        this.hidden = hidden;
        this.dim = dim;
        attention1 = owner.register_module("attention1", new Conv2dImpl(Layers.pointwise(channels, hidden)));
        attention2 = owner.register_module("attention2", new Conv2dImpl(Layers.pointwise(hidden, 1)));
        descriptor = owner.register_module("descriptor", new Conv2dImpl(Layers.pointwise(channels, dim)));
    }

    int dim() {
        return dim;
    }

    /** Multiply-accumulates per image on a side x side map. */
    long macs(long side) {
        return Layers.convMacs(side, channels, hidden, 1, 1) + Layers.convMacs(side, hidden, 1, 1, 1)
                + Layers.convMacs(side, channels, dim, 1, 1);
    }

    /** Attention scores [B, 1, H, W], positive. */
    Tensor scores(Tensor map) {
        return softplus(attention2.forward(relu(attention1.forward(map))));
    }

    /** Attention-weighted mean of the local descriptors: [B, dim]. */
    Tensor pooled(Tensor map) {
        Tensor a = scores(map);
        Tensor weighted = descriptor.forward(map).mul(a).sum(new long[] {2, 3}, false, new ScalarTypeOptional());
        return weighted.div(a.sum(new long[] {2, 3}, false, new ScalarTypeOptional()).add(new Scalar(1e-6)));
    }

    /**
     * The top-n locations of each image by attention (n capped at H x W), their descriptors L2-normalised; each
     * position is the location's centre and size in input pixels, cell being the input pixels per map location.
     * The caller holds a no-grad guard and has the owner in evaluation mode.
     */
    Features.LocalSet[] extract(Tensor map, int n, double cell) {
        int batch = (int) map.size(0);
        int h = (int) map.size(2);
        int w = (int) map.size(3);
        float[] att = new float[batch * h * w];
        ((FloatBuffer) scores(map).contiguous().createBuffer()).get(att);
        float[] desc = new float[batch * h * w * dim];  // position-major: [B, H * W, dim]
        ((FloatBuffer) descriptor.forward(map).permute(0, 2, 3, 1).contiguous().createBuffer()).get(desc);
        int keep = Math.min(n, h * w);
        LocalSelection.Selected kept = LocalSelection.select(att, desc, batch, h * w, dim, keep);
        Features.LocalSet[] out = new Features.LocalSet[batch];
        for (int b = 0; b < batch; b++) {
            float[] rows = java.util.Arrays.copyOfRange(kept.rows(), b * keep * dim, (b + 1) * keep * dim);
            float[] positions = new float[keep * 3];
            for (int k = 0; k < keep; k++) {
                int loc = (int) kept.positions()[b * keep + k];
                positions[k * 3] = (float) ((loc % w + 0.5) * cell);
                positions[k * 3 + 1] = (float) ((loc / w + 0.5) * cell);
                positions[k * 3 + 2] = (float) cell;
            }
            out[b] = new Features.LocalSet(keep, rows, positions);
        }
        return out;
    }
}
