package org.affengine.train;

import org.affengine.models.GlobalNet;
import org.affengine.models.Layers;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

/**
 * The trainable part of the photo query model. The query model is a pretrained MobileNetV2 cut at an inner feature
 * map and kept frozen (its ImageNet features, computed once per image), then this head: a 1x1 convolution to
 * {@code width} channels, BatchNorm, ReLU6, GeM (p = 3) and a linear whitening to the gallery's width d. It embeds
 * trunk feature maps [B, C, H, W]; {@link #macs()} counts the trunk too, since a query pays for both.
 */
public final class TrunkHead extends GlobalNet {
    private final Conv2dImpl reduce;
    private final BatchNorm2dImpl norm;
    private final LinearImpl whiten;
    private final String trunk;
    private final int dim;
    private final long macs;

    /** trunk names the frozen part (for reports); trunkMacs its cost per image; side the map's height and width. */
    public TrunkHead(String trunk, long trunkMacs, int channels, int side, int width, int dim) {
        this.trunk = trunk;
        this.dim = dim;
        reduce = register_module("reduce", new Conv2dImpl(Layers.conv(channels, width, 1, 1)));
        norm = register_module("norm", new BatchNorm2dImpl(new BatchNormOptions(width)));
        whiten = register_module("whiten", new LinearImpl(width, dim));
        macs = trunkMacs + Layers.convMacs(side, channels, width, 1, 1) + (long) width * dim;
    }

    @Override
    public Tensor embed(Tensor maps) {
        return whiten.forward(Layers.gem(QueryNet.relu6(norm.forward(reduce.forward(maps)))));
    }

    @Override
    public long macs() {
        return macs;
    }

    @Override
    public String modelName() {
        return trunk + "+head-d" + dim;
    }

    @Override
    public int dim() {
        return dim;
    }
}
