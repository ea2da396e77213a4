package org.affengine.train;

import org.affengine.models.GlobalNet;
import org.affengine.models.KerasGraph;
import org.affengine.models.Layers;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

/**
 * The trainable part of the photo query model. The query model is a pretrained MobileNetV2 whose layers up to a cut
 * stay frozen (their ImageNet features, computed once per image), then the MobileNetV2 layers after the cut up to
 * block_13_expand_relu, fine-tuned from their pretrained weights, then a new head: a 1x1 convolution to
 * {@code width} channels, BatchNorm, ReLU6, GeM (p = 3) and a linear whitening to the gallery's width d. It embeds
 * the frozen trunk's feature maps [B, C, H, W]; {@link #macs()} counts the trunk too, since a query pays for it.
 */
public final class TrunkHead extends GlobalNet {
    private final KerasGraph.Segment tuned;
    private final Conv2dImpl reduce;
    private final BatchNorm2dImpl norm;
    private final LinearImpl whiten;
    private final String trunk;
    private final int dim;
    private final long macs;

    /**
     * trunk names the frozen part (for reports), trunkMacs its cost per image; tuned takes its maps (side x side)
     * and gives channels to the head.
     */
    public TrunkHead(String trunk, long trunkMacs, KerasGraph.Segment tuned, int side, int channels, int width,
                     int dim) {
        this.trunk = trunk;
        this.dim = dim;
        this.tuned = register_module("tuned", tuned);
        reduce = register_module("reduce", new Conv2dImpl(Layers.conv(channels, width, 1, 1)));
        norm = register_module("norm", new BatchNorm2dImpl(new BatchNormOptions(width)));
        whiten = register_module("whiten", new LinearImpl(width, dim));
        macs = trunkMacs + tuned.macs(side, side) + Layers.convMacs(side, channels, width, 1, 1) + (long) width * dim;
    }

    @Override
    public Tensor embed(Tensor maps) {
        return whiten.forward(Layers.gem(QueryNet.relu6(norm.forward(reduce.forward(tuned.forward(maps))))));
    }

    @Override
    public long macs() {
        return macs;
    }

    @Override
    public String modelName() {
        return trunk + (tuned.layerCount() > 0 ? "+" + tuned.layerCount() + " tuned layers" : "") + "+head-d" + dim;
    }

    @Override
    public int dim() {
        return dim;
    }
}
