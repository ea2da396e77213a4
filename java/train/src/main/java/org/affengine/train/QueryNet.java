package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.hardtanh;

import java.util.ArrayList;
import java.util.List;
import org.affengine.models.GlobalNet;
import org.affengine.models.Layers;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * The lightweight query model: a MobileNetV2-style network (inverted residual blocks: 1x1 expansion, 3x3
 * depthwise, 1x1 linear projection, ReLU6, shortcut where the shape allows) for 28x28 grey images, then GeM and a
 * linear whitening to the mixer's width d. {@link #macs()} counts its multiply-accumulates per image.
 */
public final class QueryNet extends GlobalNet {
    /** The input the query model expects, as bundles record it. */
    public static final String INPUT = "28x28x1, (pixel/255 - 0.2860) / 0.3530";
    private final Conv2dImpl stem;
    private final BatchNorm2dImpl stemNorm;
    private final List<Block> blocks = new ArrayList<>();
    private final LinearImpl whiten;
    private final int dim;
    private long macs;

    static final class Block extends Module {
        final Conv2dImpl expand;
        final Conv2dImpl depthwise;
        final Conv2dImpl project;
        final BatchNorm2dImpl n1;
        final BatchNorm2dImpl n2;
        final BatchNorm2dImpl n3;
        final boolean residual;

        Block(long in, long out, long expansion, long stride) {
            long hidden = in * expansion;
            expand = register_module("expand", new Conv2dImpl(Layers.conv(in, hidden, 1, 1, 1)));
            n1 = register_module("n1", new BatchNorm2dImpl(new BatchNormOptions(hidden)));
            depthwise = register_module("depthwise", new Conv2dImpl(Layers.conv(hidden, hidden, 3, stride, hidden)));
            n2 = register_module("n2", new BatchNorm2dImpl(new BatchNormOptions(hidden)));
            project = register_module("project", new Conv2dImpl(Layers.conv(hidden, out, 1, 1, 1)));
            n3 = register_module("n3", new BatchNorm2dImpl(new BatchNormOptions(out)));
            residual = stride == 1 && in == out;
        }

        Tensor forward(Tensor x) {
            Tensor y = relu6(n1.forward(expand.forward(x)));
            y = relu6(n2.forward(depthwise.forward(y)));
            y = n3.forward(project.forward(y));
            return residual ? y.add(x) : y;
        }
    }

    static Tensor relu6(Tensor x) {
        return hardtanh(x, new Scalar(0.0), new Scalar(6.0));
    }

    public QueryNet(int dim) {
        this.dim = dim;
        // A stride-2 stem, then inverted residual blocks (out channels, expansion, stride): 28 -> 14 -> 7.
        stem = register_module("stem", new Conv2dImpl(Layers.conv(1, 12, 3, 2)));
        stemNorm = register_module("stem_norm", new BatchNorm2dImpl(new BatchNormOptions(12)));
        long side = 14;
        macs = Layers.convMacs(side, 1, 12, 3, 1);
        long[][] plan = {{12, 2, 1}, {24, 4, 2}, {24, 4, 1}, {32, 4, 1}};
        long in = 12;
        for (int i = 0; i < plan.length; i++) {
            long out = plan[i][0];
            long hidden = in * plan[i][1];
            long stride = plan[i][2];
            long outSide = side / stride;
            macs += Layers.convMacs(side, in, hidden, 1, 1) + Layers.convMacs(outSide, hidden, hidden, 3, hidden)
                    + Layers.convMacs(outSide, hidden, out, 1, 1);
            blocks.add(register_module("block" + i, new Block(in, out, plan[i][1], stride)));
            in = out;
            side = outSide;
        }
        whiten = register_module("whiten", new LinearImpl(in, dim));
        macs += in * dim;
    }

    @Override
    public long macs() {
        return macs;
    }

    @Override
    public String modelName() {
        return "query-mbv2s-d" + dim;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Tensor embed(Tensor images) {
        Tensor x = relu6(stemNorm.forward(stem.forward(images)));
        for (Block b : blocks) {
            x = b.forward(x);
        }
        return whiten.forward(Layers.gem(x));
    }
}
