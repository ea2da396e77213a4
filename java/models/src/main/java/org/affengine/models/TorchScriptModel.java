package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.zeros;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A user's global model as a TorchScript file (torch.jit.save): forward takes a float batch [B, C, H, W] and returns
 * descriptors [B, dim]. The declared spec (input channels and size, output dim) is checked when the file is loaded,
 * by running one zero image through the module, so a mismatch fails at once with both shapes named.
 */
public final class TorchScriptModel {
    private final String name;
    private final JitModule module;
    private final int channels;
    private final int height;
    private final int width;
    private final int dim;

    private TorchScriptModel(String name, JitModule module, int channels, int height, int width, int dim) {
        this.name = name;
        this.module = module;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.dim = dim;
    }

    public static TorchScriptModel load(String name, Path file, int channels, int height, int width, int dim)
            throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such TorchScript file");
        }
        JitModule module;
        try {
            module = org.bytedeco.pytorch.global.torch.load(file.toString());
        } catch (RuntimeException e) {
            throw new IOException(file + ": not a loadable TorchScript module: " + firstLine(e), e);
        }
        module.eval();
        TorchScriptModel model = new TorchScriptModel(name, module, channels, height, width, dim);
        Tensor probe;
        try {
            probe = model.forward(zeros(1, channels, height, width));
        } catch (RuntimeException e) {
            throw new IOException(file + ": forward on a [1, " + channels + ", " + height + ", " + width
                    + "] batch failed: " + firstLine(e), e);
        }
        if (probe.dim() != 2 || probe.size(0) != 1 || probe.size(1) != dim) {
            throw new IOException(file + ": declared a global model of dimension " + dim + ", but it returns shape "
                    + java.util.Arrays.toString(probe.sizes().vec().get()));
        }
        return model;
    }

    private static String firstLine(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        return m.lines().findFirst().orElse(m);
    }

    private Tensor forward(Tensor images) {
        try (NoGradGuard guard = new NoGradGuard()) {
            IValueVector inputs = new IValueVector();
            inputs.push_back(new IValue(images));
            IValue out = module.forward(inputs);
            if (!out.isTensor()) {
                throw new IllegalStateException(name + ": forward did not return a tensor");
            }
            return out.toTensor();
        }
    }

    /** Descriptors [B, dim] of a batch (not normalised). */
    public float[] embed(Tensor images) {
        if (images.size(1) != channels || images.size(2) != height || images.size(3) != width) {
            throw new IllegalArgumentException(name + " takes [B, " + channels + ", " + height + ", " + width
                    + "] batches");
        }
        Tensor out = forward(images).contiguous();
        float[] v = new float[(int) out.numel()];
        ((java.nio.FloatBuffer) out.createBuffer()).get(v);
        return v;
    }

    public FeatureSpec spec(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        return FeatureSpec.global(name, dim, java.util.Map.of("torchscript", file.getFileName().toString(),
                "input", channels + "x" + height + "x" + width, "file_crc32c", String.format("%08x", crc.getValue())));
    }

    public int dim() {
        return dim;
    }
}
