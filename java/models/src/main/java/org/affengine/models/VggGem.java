package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.max_pool2d;
import static org.bytedeco.pytorch.global.torch.relu;

import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

/**
 * A plain (VGG-family) CNN: two 3x3 conv-BN-ReLU per stage and 2x2 max pooling between stages, no shortcuts, then
 * GeM and a linear whitening. A different family from {@link ResNetGem}, so the gallery side sees diverse features.
 */
public final class VggGem extends GlobalNet {
    private final Conv2dImpl[] convs;
    private final BatchNorm2dImpl[] norms;
    private final LinearImpl whiten;
    private final int dim;
    private final int width;
    private final long macs;

    public VggGem(int width, int dim) {
        this.width = width;
        this.dim = dim;
        convs = new Conv2dImpl[6];
        norms = new BatchNorm2dImpl[6];
        long in = 1;
        long side = 28;
        long count = 0;
        for (int i = 0; i < 6; i++) {
            long out = (long) width << (i / 2);
            side = i > 0 && i % 2 == 0 ? side / 2 : side;  // after each 2x2 max pooling
            count += Layers.convMacs(side, in, out, 3, 1);
            convs[i] = register_module("conv" + i, new Conv2dImpl(Layers.conv(in, out, 3, 1)));
            norms[i] = register_module("norm" + i, new BatchNorm2dImpl(new BatchNormOptions(out)));
            in = out;
        }
        whiten = register_module("whiten", new LinearImpl(in, dim));
        macs = count + in * dim;
    }

    @Override
    public long macs() {
        return macs;
    }

    @Override
    public String modelName() {
        return "vgg-gem-w" + width;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Tensor embed(Tensor images) {
        Tensor x = images;
        for (int i = 0; i < 6; i++) {
            x = relu(norms[i].forward(convs[i].forward(x)));
            if (i % 2 == 1 && i < 5) {
                x = max_pool2d(x, 2, 2);
            }
        }
        return whiten.forward(Layers.gem(x));
    }
}
