package org.affengine.models;

import org.affengine.data.Features;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A learned local model on a frozen backbone (DELF with the backbone frozen): an {@link AttentionHead} over the
 * backbone's feature maps [B, channels, side, side], trained by classification on the attention-weighted mean of its
 * descriptors ({@link Trainer} over {@link TrainingInputs} that give the maps). Extraction keeps each image's top-n
 * locations with L2-normalised descriptors; positions are in the backbone's input pixels.
 */
public final class AttentionLocal extends TrainableNet {
    private final String backbone;
    private final AttentionHead head;
    private final int channels;
    private final int side;
    private final double cell;

    /**
     * backbone: names the map (e.g. inception_v3-mixed7); cell: the backbone's input pixels per map location;
     * hidden: the attention branch's width; dim: the descriptors' length.
     */
    public AttentionLocal(String backbone, int channels, int side, double cell, int hidden, int dim) {
        if (channels < 1 || side < 1 || hidden < 1 || dim < 1 || !(cell > 0)) {
            throw new IllegalArgumentException("channels, side, hidden, dim and cell must be positive");
        }
        this.backbone = backbone;
        this.channels = channels;
        this.side = side;
        this.cell = cell;
        head = new AttentionHead(this, channels, hidden, dim);
    }

    @Override
    public String modelName() {
        return "attention-" + backbone + "-d" + head.dim();
    }

    @Override
    public int dim() {
        return head.dim();
    }

    /** The head's multiply-accumulates per image (the backbone is counted by whoever runs it). */
    @Override
    public long macs() {
        return head.macs(side);
    }

    /** Attention-weighted mean of the descriptors of maps [B, channels, side, side]: [B, dim]. */
    @Override
    public Tensor trainingDescriptor(Tensor maps) {
        checkShape(maps);
        return head.pooled(maps);
    }

    /** The top-n locations of each map by attention, as local sets (descriptors L2-normalised). */
    public Features.LocalSet[] extract(Tensor maps, int n) {
        checkShape(maps);
        train(false);
        try (NoGradGuard guard = new NoGradGuard()) {
            return head.extract(maps, n, cell);
        }
    }

    private void checkShape(Tensor maps) {
        if (maps.dim() != 4 || maps.size(1) != channels || maps.size(2) != side || maps.size(3) != side) {
            throw new IllegalArgumentException(modelName() + " takes maps [B, " + channels + ", " + side + ", "
                    + side + "], not " + java.util.Arrays.toString(maps.sizes().vec().get()));
        }
    }
}
