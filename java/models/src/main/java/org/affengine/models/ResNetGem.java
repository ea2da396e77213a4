package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.relu;

import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A small residual CNN for grey 28x28 images (Fashion-MNIST): a stem, three stages of basic residual blocks
 * (width w, 2w, 4w; the later two halve the resolution), GeM pooling (p = 3) and a linear whitening to the output
 * dimension — the shape of the global models the AFF gallery side uses, at Fashion-MNIST's scale.
 */
public final class ResNetGem extends GlobalNet {
    private final Conv2dImpl stem;
    private final BatchNorm2dImpl stemNorm;
    private final Block[] blocks;
    private final LinearImpl whiten;
    private final int dim;
    private final int width;
    private final long macs;

    /** conv3x3 - BN - ReLU - conv3x3 - BN, plus the input (projected by a 1x1 conv when the shape changes). */
    static final class Block extends Module {
        final Conv2dImpl c1;
        final Conv2dImpl c2;
        final BatchNorm2dImpl n1;
        final BatchNorm2dImpl n2;
        final Conv2dImpl shortcut;
        final BatchNorm2dImpl shortcutNorm;

        Block(long in, long out, long stride) {
            c1 = register_module("c1", new Conv2dImpl(Layers.conv(in, out, 3, stride)));
            n1 = register_module("n1", new BatchNorm2dImpl(new BatchNormOptions(out)));
            c2 = register_module("c2", new Conv2dImpl(Layers.conv(out, out, 3, 1)));
            n2 = register_module("n2", new BatchNorm2dImpl(new BatchNormOptions(out)));
            if (in != out || stride != 1) {
                shortcut = register_module("shortcut", new Conv2dImpl(Layers.conv(in, out, 1, stride)));
                shortcutNorm = register_module("shortcut_norm", new BatchNorm2dImpl(new BatchNormOptions(out)));
            } else {
                shortcut = null;
                shortcutNorm = null;
            }
        }

        Tensor forward(Tensor x) {
            Tensor y = n2.forward(c2.forward(relu(n1.forward(c1.forward(x)))));
            Tensor skip = shortcut == null ? x : shortcutNorm.forward(shortcut.forward(x));
            return relu(y.add(skip));
        }
    }

    /** @param width channels of the first stage; @param depth residual blocks per stage. */
    public ResNetGem(int width, int depth, int dim) {
        this.dim = dim;
        this.width = width;
        stem = register_module("stem", new Conv2dImpl(Layers.conv(1, width, 3, 1)));
        stemNorm = register_module("stem_norm", new BatchNorm2dImpl(new BatchNormOptions(width)));
        blocks = new Block[3 * depth];
        long side = 28;
        long count = Layers.convMacs(side, 1, width, 3, 1);
        long in = width;
        for (int stage = 0; stage < 3; stage++) {
            long out = (long) width << stage;
            for (int b = 0; b < depth; b++) {
                long stride = stage > 0 && b == 0 ? 2 : 1;
                side = (side + stride - 1) / stride;
                count += Layers.convMacs(side, in, out, 3, 1) + Layers.convMacs(side, out, out, 3, 1)
                        + (in != out || stride != 1 ? Layers.convMacs(side, in, out, 1, 1) : 0);
                blocks[stage * depth + b] = register_module("block" + stage + "_" + b, new Block(in, out, stride));
                in = out;
            }
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
        return "resnet-gem-w" + width + "-b" + (blocks.length / 3);
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Tensor embed(Tensor images) {
        Tensor x = relu(stemNorm.forward(stem.forward(images)));
        for (Block b : blocks) {
            x = b.forward(x);
        }
        return whiten.forward(Layers.gem(x));
    }
}
