package org.affengine.mixer;

import java.nio.file.Path;
import java.util.Objects;
import org.affengine.index.Backend;
import org.affengine.natives.AffNative;

/**
 * The AFF dynamic mixer in the native core, from a model bundle directory (bundle.json + model.safetensors, as
 * java/train writes it): the fused CUDA kernel (fp32, or fp16 on the tensor cores) or the double-precision CPU
 * reference. Features come packed: input after input in the bundle's order, each [batch, tokens, dim] row-major
 * (tokens = 1 for a global input); padding likewise for the local inputs, [batch, maxLocal] bytes, nonzero = padded.
 *
 * <p>Thread-safe: calls are serialised (the GPU path reuses its device buffers). {@link #close()} frees the native
 * side; later calls throw {@link IllegalStateException}.
 */
public final class NativeMixer implements AutoCloseable {
    /** Where the mixer runs. */
    public enum Kind {
        CPU_REFERENCE(0), CUDA_FP32(1), CUDA_FP16(2);

        final int code;

        Kind(int code) {
            this.code = code;
        }
    }

    private final AffNative.MixerHandle handle;
    private final Kind kind;
    private boolean closed;

    /**
     * @throws IllegalArgumentException for a missing, corrupted or non-transformer bundle
     * @throws IllegalStateException for a CUDA kind without a device
     */
    public NativeMixer(Path bundleDir, Kind kind) {
        this.kind = Objects.requireNonNull(kind, "kind");
        String dir = Objects.requireNonNull(bundleDir, "bundleDir").toAbsolutePath().toString();
        if (kind != Kind.CPU_REFERENCE && Backend.detect().cudaDevices().isEmpty()) {
            throw new IllegalStateException("no GPU mixer: no CUDA device here");
        }
        try {
            this.handle = new AffNative.MixerHandle(dir, kind.code, 0);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot load the mixer from " + bundleDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The CUDA fp32 mixer when {@code backend} prefers CUDA, else empty: callers keep their CPU path. A GPU mixer that
     * cannot start (a device error, a bundle the kernel does not take) is also empty, with a warning saying why.
     */
    public static java.util.Optional<NativeMixer> onGpu(Path bundleDir, Backend backend) {
        if (!backend.preferred().equals("cuda")) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(new NativeMixer(bundleDir, Kind.CUDA_FP32));
        } catch (RuntimeException e) {
            System.err.println("warning: no GPU mixer (" + e.getMessage() + "); mixing on the CPU");
            return java.util.Optional.empty();
        }
    }

    public Kind kind() {
        return kind;
    }

    public int dim() {
        return handle.dim();
    }

    public int inputs() {
        return handle.inputs();
    }

    public int inputDim(int i) {
        return handle.input_dim(i);
    }

    /** 0 for a global input. */
    public int inputMaxLocal(int i) {
        return handle.input_max_local(i);
    }

    /** Fused, L2-normalised vectors: [batch * dim()]. */
    public synchronized float[] forward(int batch, float[] features, byte[] padding) {
        if (closed) {
            throw new IllegalStateException("the mixer is closed");
        }
        if (batch <= 0) {
            throw new IllegalArgumentException("batch must be positive, got " + batch);
        }
        long wantFeatures = batch * handle.features_per_item();
        long wantPadding = batch * handle.padding_per_item();
        if (Objects.requireNonNull(features, "features").length != wantFeatures) {
            throw new IllegalArgumentException("features: " + features.length + " floats, the bundle needs "
                    + wantFeatures + " for " + batch + " items");
        }
        byte[] pad = padding == null ? new byte[0] : padding;
        if (pad.length != wantPadding) {
            throw new IllegalArgumentException("padding: " + pad.length + " bytes, the bundle needs " + wantPadding);
        }
        float[] out = new float[batch * dim()];
        handle.forward(batch, features, wantPadding == 0 ? null : pad, out);
        return out;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            handle.close();
        }
    }
}
