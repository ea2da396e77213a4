package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.relu;

import org.affengine.data.Features;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A DELF-style local model for 28x28 images: a small conv backbone gives a feature map (stride 2) under an
 * {@link AttentionHead}, trained together by classifying the attention-weighted mean of the descriptors; extraction
 * keeps the top-n locations by attention, each with its L2-normalised descriptor, its centre in input pixels and its
 * scale (the backbone stride).
 */
public final class DelfLocal extends TrainableNet {
    private final Conv2dImpl c1;
    private final Conv2dImpl c2;
    private final Conv2dImpl c3;
    private final BatchNorm2dImpl n1;
    private final BatchNorm2dImpl n2;
    private final BatchNorm2dImpl n3;
    private final AttentionHead head;
    private final int width;
    static final int STRIDE = 2;

    public DelfLocal(int width, int dim) {
        this.width = width;
        c1 = register_module("c1", new Conv2dImpl(Layers.conv(1, width, 3, 1)));
        n1 = register_module("n1", new BatchNorm2dImpl(new BatchNormOptions(width)));
        c2 = register_module("c2", new Conv2dImpl(Layers.conv(width, 2L * width, 3, STRIDE)));
        n2 = register_module("n2", new BatchNorm2dImpl(new BatchNormOptions(2L * width)));
        c3 = register_module("c3", new Conv2dImpl(Layers.conv(2L * width, 4L * width, 3, 1)));
        n3 = register_module("n3", new BatchNorm2dImpl(new BatchNormOptions(4L * width)));
        head = new AttentionHead(this, 4L * width, width, dim);
    }

    @Override
    public long macs() {
        long side = 28 / STRIDE;
        return Layers.convMacs(28, 1, width, 3, 1) + Layers.convMacs(side, width, 2L * width, 3, 1)
                + Layers.convMacs(side, 2L * width, 4L * width, 3, 1) + head.macs(side);
    }

    @Override
    public String modelName() {
        return "delf-w" + width;
    }

    @Override
    public int dim() {
        return head.dim();
    }

    private Tensor featureMap(Tensor images) {
        Tensor x = relu(n1.forward(c1.forward(images)));
        x = relu(n2.forward(c2.forward(x)));
        return relu(n3.forward(c3.forward(x)));
    }

    /** Attention-weighted mean of the local descriptors: [B, dim]. */
    @Override
    public Tensor trainingDescriptor(Tensor images) {
        return head.pooled(featureMap(images));
    }

    /** The top-n locations of each image by attention, as local sets (descriptors L2-normalised). */
    public Features.LocalSet[] extract(Tensor images, int n) {
        train(false);
        try (NoGradGuard guard = new NoGradGuard()) {
            return head.extract(featureMap(images), n, STRIDE);
        }
    }
}
