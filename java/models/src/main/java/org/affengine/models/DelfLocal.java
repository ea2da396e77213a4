package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.relu;
import static org.bytedeco.pytorch.global.torch.softplus;

import java.nio.FloatBuffer;
import org.affengine.data.Features;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/**
 * A DELF-style local model: a conv backbone gives a feature map (stride 2); an attention head scores every
 * location (softplus), a 1x1 head turns each location into a descriptor. Training classifies the attention-weighted
 * mean of the descriptors, which teaches attention which locations matter; extraction keeps the top-n locations by
 * attention, each with its L2-normalised descriptor, its centre in input pixels and its scale (the backbone stride).
 */
public final class DelfLocal extends TrainableNet {
    private final Conv2dImpl c1;
    private final Conv2dImpl c2;
    private final Conv2dImpl c3;
    private final BatchNorm2dImpl n1;
    private final BatchNorm2dImpl n2;
    private final BatchNorm2dImpl n3;
    private final Conv2dImpl attention1;
    private final Conv2dImpl attention2;
    private final Conv2dImpl descriptor;
    private final int dim;
    private final int width;
    static final int STRIDE = 2;

    public DelfLocal(int width, int dim) {
        this.width = width;
        this.dim = dim;
        c1 = register_module("c1", new Conv2dImpl(Layers.conv(1, width, 3, 1)));
        n1 = register_module("n1", new BatchNorm2dImpl(new BatchNormOptions(width)));
        c2 = register_module("c2", new Conv2dImpl(Layers.conv(width, 2L * width, 3, STRIDE)));
        n2 = register_module("n2", new BatchNorm2dImpl(new BatchNormOptions(2L * width)));
        c3 = register_module("c3", new Conv2dImpl(Layers.conv(2L * width, 4L * width, 3, 1)));
        n3 = register_module("n3", new BatchNorm2dImpl(new BatchNormOptions(4L * width)));
        attention1 = register_module("attention1", new Conv2dImpl(Layers.pointwise(4L * width, width)));
        attention2 = register_module("attention2", new Conv2dImpl(Layers.pointwise(width, 1)));
        descriptor = register_module("descriptor", new Conv2dImpl(Layers.pointwise(4L * width, dim)));
    }

    @Override
    public long macs() {
        long side = 28 / STRIDE;
        return Layers.convMacs(28, 1, width, 3, 1) + Layers.convMacs(side, width, 2L * width, 3, 1)
                + Layers.convMacs(side, 2L * width, 4L * width, 3, 1) + Layers.convMacs(side, 4L * width, width, 1, 1)
                + Layers.convMacs(side, width, 1, 1, 1) + Layers.convMacs(side, 4L * width, dim, 1, 1);
    }

    @Override
    public String modelName() {
        return "delf-w" + width;
    }

    @Override
    public int dim() {
        return dim;
    }

    private Tensor featureMap(Tensor images) {
        Tensor x = relu(n1.forward(c1.forward(images)));
        x = relu(n2.forward(c2.forward(x)));
        return relu(n3.forward(c3.forward(x)));
    }

    private Tensor scores(Tensor map) {
        return softplus(attention2.forward(relu(attention1.forward(map))));  // [B, 1, H, W]
    }

    /** Attention-weighted mean of the local descriptors: [B, dim]. */
    @Override
    public Tensor trainingDescriptor(Tensor images) {
        Tensor map = featureMap(images);
        Tensor a = scores(map);
        Tensor weighted = descriptor.forward(map).mul(a).sum(new long[] {2, 3}, false, new ScalarTypeOptional());
        return weighted.div(a.sum(new long[] {2, 3}, false, new ScalarTypeOptional()).add(new Scalar(1e-6)));
    }

    /** The top-n locations of each image by attention, as local sets (descriptors L2-normalised). */
    public Features.LocalSet[] extract(Tensor images, int n) {
        train(false);
        try (NoGradGuard guard = new NoGradGuard()) {
            Tensor map = featureMap(images);
            Tensor a = scores(map).contiguous();
            Tensor d = descriptor.forward(map).contiguous();
            int batch = (int) a.size(0);
            int h = (int) a.size(2);
            int w = (int) a.size(3);
            float[] att = new float[batch * h * w];
            ((FloatBuffer) a.createBuffer()).get(att);
            float[] desc = new float[batch * dim * h * w];
            ((FloatBuffer) d.createBuffer()).get(desc);
            Features.LocalSet[] out = new Features.LocalSet[batch];
            int keep = Math.min(n, h * w);
            for (int b = 0; b < batch; b++) {
                Integer[] order = new Integer[h * w];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                final int base = b * h * w;
                java.util.Arrays.sort(order, (x, y) -> Float.compare(att[base + y], att[base + x]) != 0
                        ? Float.compare(att[base + y], att[base + x]) : Integer.compare(x, y));
                float[] rows = new float[keep * dim];
                float[] positions = new float[keep * 3];
                for (int k = 0; k < keep; k++) {
                    int loc = order[k];
                    for (int c = 0; c < dim; c++) {
                        rows[k * dim + c] = desc[(b * dim + c) * h * w + loc];
                    }
                    positions[k * 3] = (loc % w + 0.5f) * STRIDE;
                    positions[k * 3 + 1] = (loc / w + 0.5f) * STRIDE;
                    positions[k * 3 + 2] = STRIDE;
                }
                Layers.normaliseRows(rows, 0, keep, dim);
                out[b] = new Features.LocalSet(keep, rows, positions);
            }
            return out;
        }
    }
}
