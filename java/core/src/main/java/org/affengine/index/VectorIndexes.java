package org.affengine.index;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a saved index of either kind, recognised by the magic bytes its file starts with. */
public final class VectorIndexes {
    private VectorIndexes() {}

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
