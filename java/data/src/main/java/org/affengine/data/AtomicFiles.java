package org.affengine.data;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.zip.CRC32C;

/** Whole-file writes that a crash cannot leave half done, and the checksum the project's formats record. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes dir/name through a temporary file: write, fsync, rename over the old one, fsync the directory. */
    public static void write(Path dir, String name, byte[] data) throws IOException {
        write(dir, name, out -> out.write(data));
    }

    /** Content written to a stream (for files too large to build in memory first). */
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /** As {@link #write(Path, String, byte[])}, with the content streamed by body. */
    public static void write(Path dir, String name, Body body) throws IOException {
        Path tmp = dir.resolve(name + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream buffered = new BufferedOutputStream(Channels.newOutputStream(out), 1 << 16);
            body.writeTo(buffered);
            buffered.flush();
            out.force(true);
        }
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** CRC-32C as 8 lower-case hex digits. */
    public static String crc32c(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        return String.format(Locale.ROOT, "%08x", crc.getValue());
    }

    public static String crc32c(ByteBuffer data) {
        CRC32C crc = new CRC32C();
        crc.update(data.duplicate());
        return String.format(Locale.ROOT, "%08x", crc.getValue());
    }
}
