package org.affengine.index;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a saved index of either kind, recognised by the magic bytes its file starts with; picks the exact backend. */
public final class VectorIndexes {
    private VectorIndexes() {}

    /**
     * An empty exact index on the best backend here: {@link CudaIndex} on device 0 when {@code backend} prefers CUDA
     * and the dimension is a multiple of 8, else (or when the GPU index cannot start: a warning says why) an fp32
     * {@link ExactIndex}.
     */
    public static ExactVectorIndex exact(int dimension, Metric metric, Backend backend) {
        if (backend.preferred().equals("cuda") && dimension % 8 == 0) {
            try {
                return new CudaIndex(dimension, metric, 0);
            } catch (IllegalStateException e) {
                System.err.println("warning: " + e.getMessage() + "; searching on the CPU");
            }
        }
        return new ExactIndex(dimension, metric, Storage.FLOAT32);
    }

    public static VectorIndex open(Path path) {
        byte[] magic = new byte[8];
        try (InputStream in = Files.newInputStream(path)) {
            if (in.readNBytes(magic, 0, 8) != 8) {
                throw new IllegalArgumentException(path + " is not an AFF index file: too short");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e, e);
        }
        return switch (new String(magic, StandardCharsets.US_ASCII)) {
            case "AFFEXACT" -> ExactIndex.open(path);
            case "AFFFAISS" -> FaissIndex.open(path);
            default -> throw new IllegalArgumentException(path + " is not an AFF index file (unknown magic)");
        };
    }
}
