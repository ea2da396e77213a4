package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.zeros;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.affengine.data.FeatureSpec;
import org.affengine.data.Features;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A user's model as a TorchScript file (torch.jit.save). forward takes a float batch [B, C, H, W]; a global model
 * returns descriptors [B, dim], a local one the tuple (descriptors [B, N, dim], positions [B, N, 3] as x, y, scale)
 * of which the first maxLocal are kept. The declared spec (input channels and size, kind, output dim) is checked when
 * the file is loaded, by running one zero image through the module, so a mismatch fails at once with both shapes.
 */
public final class TorchScriptModel {
    private final String name;
    private final JitModule module;
    private final int channels;
    private final int height;
    private final int width;
    private final int dim;
    private final int maxLocal;  // 0 for a global model

    private TorchScriptModel(String name, JitModule module, int channels, int height, int width, int dim,
                             int maxLocal) {
        this.name = name;
        this.module = module;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.dim = dim;
        this.maxLocal = maxLocal;
    }

    /** Loads a global model. */
    public static TorchScriptModel load(String name, Path file, int channels, int height, int width, int dim)
            throws IOException {
        return load(name, file, channels, height, width, dim, 0);
    }

    /** Loads a global model (maxLocal 0) or a local one keeping at most maxLocal descriptors per image. */
    public static TorchScriptModel load(String name, Path file, int channels, int height, int width, int dim,
                                        int maxLocal) throws IOException {
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
        TorchScriptModel model = new TorchScriptModel(name, module, channels, height, width, dim, maxLocal);
        IValue probe;
        try {
            probe = model.run(zeros(1, channels, height, width));
        } catch (RuntimeException e) {
            throw new IOException(file + ": forward on a [1, " + channels + ", " + height + ", " + width
                    + "] batch failed: " + firstLine(e), e);
        }
        if (maxLocal == 0) {
            Tensor t = probe.isTensor() ? probe.toTensor() : null;
            if (t == null || t.dim() != 2 || t.size(0) != 1 || t.size(1) != dim) {
                throw new IOException(file + ": declared a global model of dimension " + dim + ", but it returns "
                        + describe(probe));
            }
        } else {
            Tensor[] parts = probe.isTuple() && probe.toTuple().elements().size() == 2
                    ? new Tensor[] {probe.toTuple().elements().get(0).toTensor(),
                        probe.toTuple().elements().get(1).toTensor()} : null;
            if (parts == null || parts[0].dim() != 3 || parts[0].size(2) != dim || parts[1].dim() != 3
                    || parts[1].size(2) != 3 || parts[0].size(1) != parts[1].size(1)) {
                throw new IOException(file + ": declared a local model of dimension " + dim + " returning "
                        + "(descriptors [B, N, " + dim + "], positions [B, N, 3]), but it returns " + describe(probe));
            }
        }
        return model;
    }

    private static String describe(IValue v) {
        if (v.isTensor()) {
            return "a tensor of shape " + java.util.Arrays.toString(v.toTensor().sizes().vec().get());
        }
        return v.isTuple() ? "a tuple of " + v.toTuple().elements().size() + " values" : "a " + v.tagKind().getString();
    }

    private static String firstLine(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        return m.lines().findFirst().orElse(m);
    }

    private IValue run(Tensor images) {
        try (NoGradGuard guard = new NoGradGuard()) {
            IValueVector inputs = new IValueVector();
            inputs.push_back(new IValue(images));
            return module.forward(inputs);
        }
    }

    private void checkInput(Tensor images) {
        if (images.dim() != 4 || images.size(1) != channels || images.size(2) != height || images.size(3) != width) {
            throw new IllegalArgumentException(name + " takes [B, " + channels + ", " + height + ", " + width
                    + "] batches");
        }
    }

    private static float[] values(Tensor t) {
        Tensor c = t.contiguous();
        float[] v = new float[(int) c.numel()];
        ((java.nio.FloatBuffer) c.createBuffer()).get(v);
        return v;
    }

    /** Descriptors [B, dim] of a batch (not normalised) from a global model. */
    public float[] embed(Tensor images) {
        if (maxLocal != 0) {
            throw new IllegalStateException(name + " is a local model");
        }
        checkInput(images);
        return values(run(images).toTensor());
    }

    /** The local sets of a batch from a local model: at most maxLocal descriptors each, in the module's order. */
    public Features.LocalSet[] extractLocal(Tensor images) {
        if (maxLocal == 0) {
            throw new IllegalStateException(name + " is a global model");
        }
        checkInput(images);
        org.bytedeco.pytorch.TupleElements out = run(images).toTuple().elements();
        Tensor d = out.get(0).toTensor();
        int batch = (int) d.size(0);
        int n = (int) d.size(1);
        float[] desc = values(d);
        float[] pos = values(out.get(1).toTensor());
        int keep = Math.min(n, maxLocal);
        Features.LocalSet[] sets = new Features.LocalSet[batch];
        for (int b = 0; b < batch; b++) {
            float[] rows = new float[keep * dim];
            float[] positions = new float[keep * 3];
            System.arraycopy(desc, b * n * dim, rows, 0, rows.length);
            System.arraycopy(pos, b * n * 3, positions, 0, positions.length);
            sets[b] = new Features.LocalSet(keep, rows, positions);
        }
        return sets;
    }

    public FeatureSpec spec(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        java.util.Map<String, String> details = java.util.Map.of("torchscript", file.getFileName().toString(),
                "input", channels + "x" + height + "x" + width, "file_crc32c", String.format("%08x", crc.getValue()));
        return maxLocal == 0 ? FeatureSpec.global(name, dim, details)
                : FeatureSpec.local(name, dim, maxLocal, details);
    }

    public int dim() {
        return dim;
    }
}
