package org.affengine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Vector files on the command line: {@code .fvecs} / {@code .ivecs} (each vector: int32 dimension, then its values,
 * little-endian, as the ANN benchmarks publish them) and {@code .npy} (NumPy format 1.0-3.0, C order, 1-D or 2-D,
 * little-endian float16/float32/float64 or int32/int64). Every malformed file is a {@link VectorFileException} that
 * says what is wrong; nothing is silently truncated.
 */
public final class VectorFiles {
    private VectorFiles() {}

    /** Thrown for unreadable, truncated or malformed vector files. */
    public static final class VectorFileException extends IOException {
        VectorFileException(Path path, String why) {
            super(path + ": " + why);
        }
    }

    /** Streams float vectors in chunks, so files larger than the heap can be indexed. */
    public interface FloatReader extends AutoCloseable {
        int dim();

        long rows();

        /** Reads up to maxRows vectors into a new matrix; an empty matrix at the end. */
        FloatMatrix next(int maxRows) throws IOException;

        @Override
        void close() throws IOException;
    }

    public static FloatMatrix readFloats(Path path) throws IOException {
        try (FloatReader reader = openFloats(path)) {
            if (reader.rows() > Integer.MAX_VALUE / Math.max(1, reader.dim())) {
                throw new VectorFileException(path, "too large to load at once (" + reader.rows() + " rows)");
            }
            return reader.next((int) reader.rows());
        }
    }

    /** Opens .fvecs or .npy by extension. */
    public static FloatReader openFloats(Path path) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".fvecs")) {
            return new FvecsReader(path);
        }
        if (name.endsWith(".npy")) {
            return NpyReader.open(path);
        }
        throw new VectorFileException(path, "unknown vector file type (expected .fvecs or .npy)");
    }

    public static IntMatrix readInts(Path path) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".ivecs")) {
            return readIvecs(path);
        }
        if (name.endsWith(".npy")) {
            return NpyReader.readInts(path);
        }
        throw new VectorFileException(path, "unknown id file type (expected .ivecs or .npy)");
    }

    public static void writeFloats(Path path, FloatMatrix m) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy")) {
            writeNpy(path, "<f4", m.rows(), m.dim(), m.data().length * 4L, b -> b.asFloatBuffer().put(m.data()));
        } else if (name.endsWith(".fvecs")) {
            writeVecs(path, m.rows(), m.dim(), (b, r) -> {
                for (int i = 0; i < m.dim(); i++) {
                    b.putFloat(m.data()[r * m.dim() + i]);
                }
            });
        } else {
            throw new VectorFileException(path, "unknown vector file type (expected .fvecs or .npy)");
        }
    }

    public static void writeInts(Path path, IntMatrix m) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy")) {
            writeNpy(path, "<i4", m.rows(), m.dim(), m.data().length * 4L, b -> b.asIntBuffer().put(m.data()));
        } else if (name.endsWith(".ivecs")) {
            writeVecs(path, m.rows(), m.dim(), (b, r) -> {
                for (int i = 0; i < m.dim(); i++) {
                    b.putInt(m.data()[r * m.dim() + i]);
                }
            });
        } else {
            throw new VectorFileException(path, "unknown id file type (expected .ivecs or .npy)");
        }
    }

    // ---- .fvecs / .ivecs

    private static final class FvecsReader implements FloatReader {
        private final Path path;
        private final FileChannel channel;
        private final int dim;
        private final long rows;
        private long read;

        FvecsReader(Path path) throws IOException {
            this.path = path;
            this.channel = FileChannel.open(path, StandardOpenOption.READ);
            try {
                long size = channel.size();
                if (size == 0) {
                    throw new VectorFileException(path, "empty file");
                }
                ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                if (channel.read(head, 0) != 4) {
                    throw new VectorFileException(path, "truncated");
                }
                dim = head.getInt(0);
                if (dim <= 0 || dim > (1 << 16)) {
                    throw new VectorFileException(path, "bad dimension " + dim + " in the first record");
                }
                long record = 4L + 4L * dim;
                if (size % record != 0) {
                    throw new VectorFileException(path, "size " + size + " is not a whole number of " + record
                            + "-byte records (truncated, or not .fvecs)");
                }
                rows = size / record;
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        @Override
        public int dim() {
            return dim;
        }

        @Override
        public long rows() {
            return rows;
        }

        @Override
        public FloatMatrix next(int maxRows) throws IOException {
            int n = (int) Math.min(maxRows, rows - read);
            float[] out = new float[Math.multiplyExact(n, dim)];
            ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(n, 4 + 4 * dim)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, buf, read * (4L + 4L * dim), path);
            buf.flip();
            for (int r = 0; r < n; r++) {
                int d = buf.getInt();
                if (d != dim) {
                    throw new VectorFileException(path, "record " + (read + r) + " has dimension " + d + ", expected "
                            + dim);
                }
                buf.asFloatBuffer().get(out, r * dim, dim);
                buf.position(buf.position() + 4 * dim);
            }
            read += n;
            return new FloatMatrix(n, dim, out);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private static IntMatrix readIvecs(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length < 4) {
            throw new VectorFileException(path, bytes.length == 0 ? "empty file" : "truncated");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int dim = buf.getInt(0);
        long record = 4L + 4L * dim;
        if (dim <= 0 || bytes.length % record != 0) {
            throw new VectorFileException(path, "not a whole number of records of dimension " + dim);
        }
        int rows = (int) (bytes.length / record);
        int[] out = new int[rows * dim];
        for (int r = 0; r < rows; r++) {
            int d = buf.getInt();
            if (d != dim) {
                throw new VectorFileException(path, "record " + r + " has dimension " + d + ", expected " + dim);
            }
            buf.asIntBuffer().get(out, r * dim, dim);
            buf.position(buf.position() + 4 * dim);
        }
        return new IntMatrix(rows, dim, out);
    }

    private interface RowWriter {
        void write(ByteBuffer buf, int row);
    }

    private static void writeVecs(Path path, int rows, int dim, RowWriter rowWriter) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(rows, 4 + 4 * dim)).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            buf.putInt(dim);
            rowWriter.write(buf, r);
        }
        buf.flip();
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        }
    }

    static void readFully(FileChannel channel, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int got = channel.read(buf, pos);
            if (got < 0) {
                throw new VectorFileException(path, "truncated");
            }
            pos += got;
        }
    }

    // ---- .npy

    private interface BodyWriter {
        void write(ByteBuffer body);
    }

    private static void writeNpy(Path path, String descr, int rows, int dim, long bodyBytes, BodyWriter body)
            throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + rows + ", " + dim + "), }";
        int unpadded = 10 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(10 + header.length() + bodyBytes))
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        buf.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        body.write(buf.slice().order(ByteOrder.LITTLE_ENDIAN));
        buf.position(buf.capacity()).flip();
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        }
    }

    /** A parsed .npy header: element type, shape, and where the data starts. */
    record NpyHeader(String descr, long rows, int dim, long dataOffset) {
        private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
        private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
        private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

        int itemSize() {
            return Integer.parseInt(descr.substring(2));
        }

        static NpyHeader read(FileChannel channel, Path path) throws IOException {
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(pre, 0);
            if (pre.position() < 10 || pre.get(0) != (byte) 0x93
                    || !new String(pre.array(), 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new VectorFileException(path, "not a .npy file (bad magic)");
            }
            int major = pre.get(6);
            long headerLen;
            int start;
            if (major == 1) {
                headerLen = Short.toUnsignedInt(pre.getShort(8));
                start = 10;
            } else if (major == 2 || major == 3) {
                headerLen = Integer.toUnsignedLong(pre.getInt(8));
                start = 12;
            } else {
                throw new VectorFileException(path, "unsupported .npy version " + major);
            }
            if (headerLen > 1 << 20 || start + headerLen > channel.size()) {
                throw new VectorFileException(path, "truncated header");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(channel, hb, start, path);
            String header = new String(hb.array(), StandardCharsets.ISO_8859_1);
            Matcher descr = DESCR.matcher(header);
            Matcher order = ORDER.matcher(header);
            Matcher shape = SHAPE.matcher(header);
            if (!descr.find() || !order.find() || !shape.find()) {
                throw new VectorFileException(path, "malformed .npy header");
            }
            if (order.group(1).equals("True")) {
                throw new VectorFileException(path, "Fortran-order arrays are not supported; save with C order");
            }
            String type = descr.group(1).replace('=', '<').replace('|', '<');
            if (!type.matches("<[fi][1248]")) {
                throw new VectorFileException(path, "unsupported dtype '" + descr.group(1)
                        + "' (little-endian float or int expected)");
            }
            String[] dims = shape.group(1).replace(" ", "").split(",");
            long rows;
            int dim;
            try {
                if (dims.length == 1 && !dims[0].isEmpty()) {
                    rows = 1;
                    dim = Integer.parseInt(dims[0]);
                } else if (dims.length == 2) {
                    rows = Long.parseLong(dims[0]);
                    dim = Integer.parseInt(dims[1]);
                } else {
                    throw new VectorFileException(path, "expected a 1-D or 2-D array, got shape (" + shape.group(1)
                            + ")");
                }
            } catch (NumberFormatException e) {
                throw new VectorFileException(path, "malformed shape (" + shape.group(1) + ")");
            }
            NpyHeader h = new NpyHeader(type, rows, dim, start + headerLen);
            long expected = h.dataOffset + rows * dim * h.itemSize();
            if (rows < 0 || dim <= 0 || channel.size() != expected) {
                throw new VectorFileException(path, "file size " + channel.size() + " does not match shape (" + rows
                        + ", " + dim + ") of " + type + " (truncated?)");
            }
            return h;
        }
    }

    private static final class NpyReader implements FloatReader {
        private final Path path;
        private final FileChannel channel;
        private final NpyHeader header;
        private long read;

        private NpyReader(Path path, FileChannel channel, NpyHeader header) {
            this.path = path;
            this.channel = channel;
            this.header = header;
        }

        static NpyReader open(Path path) throws IOException {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            try {
                NpyHeader header = NpyHeader.read(channel, path);
                if (!header.descr().startsWith("<f") || header.itemSize() == 1) {
                    throw new VectorFileException(path, "expected float16/32/64 vectors, got " + header.descr());
                }
                return new NpyReader(path, channel, header);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        static IntMatrix readInts(Path path) throws IOException {
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                NpyHeader h = NpyHeader.read(channel, path);
                if (!h.descr().equals("<i4") && !h.descr().equals("<i8")) {
                    throw new VectorFileException(path, "expected int32 or int64 ids, got " + h.descr());
                }
                int n = Math.toIntExact(h.rows() * h.dim());
                ByteBuffer buf = ByteBuffer.allocate(n * h.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, buf, h.dataOffset(), path);
                buf.flip();
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = h.itemSize() == 4 ? buf.getInt() : Math.toIntExact(buf.getLong());
                }
                return new IntMatrix((int) h.rows(), h.dim(), out);
            }
        }

        @Override
        public int dim() {
            return header.dim();
        }

        @Override
        public long rows() {
            return header.rows();
        }

        @Override
        public FloatMatrix next(int maxRows) throws IOException {
            int n = (int) Math.min(maxRows, rows() - read);
            int count = Math.multiplyExact(n, dim());
            int item = header.itemSize();
            ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(count, item)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, buf, header.dataOffset() + read * dim() * item, path);
            buf.flip();
            float[] out = new float[count];
            switch (item) {
                case 2 -> {
                    for (int i = 0; i < count; i++) {
                        out[i] = Float.float16ToFloat(buf.getShort());
                    }
                }
                case 4 -> buf.asFloatBuffer().get(out);
                default -> {
                    for (int i = 0; i < count; i++) {
                        out[i] = (float) buf.getDouble();
                    }
                }
            }
            read += n;
            return new FloatMatrix(n, dim(), out);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
