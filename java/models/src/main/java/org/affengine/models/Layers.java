package org.affengine.models;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/** Building blocks shared by the networks (here and in the training module's query model). */
public final class Layers {
    private Layers() {}

    /** A kernel x kernel convolution, "same" padding, no bias (a batch norm follows). */
    public static Conv2dOptions conv(long in, long out, long kernel, long stride) {
        return conv(in, out, kernel, stride, 1);
    }

    /** The same in groups (groups = channels: depthwise). */
    public static Conv2dOptions conv(long in, long out, long kernel, long stride, long groups) {
        Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(kernel, kernel));
        o.stride().put(new long[] {stride, stride});
        o.padding().put(new LongPointer(kernel / 2, kernel / 2));
        o.groups().put(groups);
        o.bias().put(false);
        return o;
    }

    /** A 1x1 convolution with bias (heads). */
    public static Conv2dOptions pointwise(long in, long out) {
        Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(1, 1));
        o.bias().put(true);
        return o;
    }

    /**
     * Multiply-accumulates of a convolution with "same" padding: every output position of every output channel
     * sums kernel^2 * in / groups products.
     */
    public static long convMacs(long outSide, long in, long out, long kernel, long groups) {
        return outSide * outSide * out * (in / groups) * kernel * kernel;
    }

    /** Number of trainable values in a module and its children. */
    public static long parameterCount(org.bytedeco.pytorch.Module module) {
        org.bytedeco.pytorch.TensorVector p = module.parameters();
        long n = 0;
        for (long i = 0; i < p.size(); i++) {
            n += p.get(i).numel();
        }
        return n;
    }

    /** Generalised mean pooling over the spatial positions, p = 3: [B, C, H, W] -> [B, C]. */
    public static Tensor gem(Tensor x) {
        return x.clamp_min(new Scalar(1e-6)).pow(new Scalar(3.0)).mean(new long[] {2, 3}, false,
                new ScalarTypeOptional()).pow(new Scalar(1.0 / 3.0));
    }

    /** Scales each of the rows [from, from + rows) of a row-major [*, dim] array to unit length, in place. */
    public static void normaliseRows(float[] v, int from, int rows, int dim) {
        for (int r = from; r < from + rows; r++) {
            double norm = 0;
            for (int k = 0; k < dim; k++) {
                norm += v[r * dim + k] * v[r * dim + k];
            }
            float inv = (float) (1 / Math.max(1e-12, Math.sqrt(norm)));
            for (int k = 0; k < dim; k++) {
                v[r * dim + k] *= inv;
            }
        }
    }
}
