package org.affengine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VectorFilesTest {
    @TempDir
    Path dir;

    final Random random = new Random();

    FloatMatrix randomMatrix(int rows, int dim) {
        float[] v = new float[rows * dim];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return new FloatMatrix(rows, dim, v);
    }

    @Test
    void fvecsAndNpyRoundTrip() throws Exception {
        FloatMatrix m = randomMatrix(37, 13);
        for (String name : new String[] {"a.fvecs", "a.npy"}) {
            Path file = dir.resolve(name);
            VectorFiles.writeFloats(file, m);
            FloatMatrix back = VectorFiles.readFloats(file);
            assertEquals(37, back.rows());
            assertEquals(13, back.dim());
            assertArrayEquals(m.data(), back.data());
            try (VectorFiles.FloatReader reader = VectorFiles.openFloats(file)) {
                assertEquals(10, reader.next(10).rows());
                assertArrayEquals(m.row(10), reader.next(5).row(0));
                assertEquals(22, reader.next(100).rows());
                assertEquals(0, reader.next(100).rows());
            }
        }
        IntMatrix ids = new IntMatrix(3, 2, new int[] {1, 2, 3, 4, 5, 6});
        for (String name : new String[] {"i.ivecs", "i.npy"}) {
            VectorFiles.writeInts(dir.resolve(name), ids);
            assertEquals(ids, VectorFiles.readInts(dir.resolve(name)));
        }
    }

    /** Writes a .npy file by hand, the way NumPy lays it out, for dtypes and versions this project never writes. */
    Path npy(String name, int major, String descr, String shape, boolean fortran, byte[] body) throws Exception {
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': ("
                + shape + "), }";
        int pre = major == 1 ? 10 : 12;
        String header = dict + " ".repeat((64 - (pre + dict.length() + 1) % 64) % 64) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.write("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(major);
        out.write(0);
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            len.putShort((short) header.length());
        } else {
            len.putInt(header.length());
        }
        out.write(len.array());
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }

    @Test
    void npyFloat16Float64Version2AndOneDimensional() throws Exception {
        ByteBuffer halves = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : new float[] {1f, -2f, 0.5f, 3f}) {
            halves.putShort(Float.floatToFloat16(f));
        }
        FloatMatrix h = VectorFiles.readFloats(npy("h.npy", 2, "<f2", "2, 2", false, halves.array()));
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 3f}, h.data());
        ByteBuffer doubles = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.5).putDouble(2)
                .putDouble(-3);
        FloatMatrix d = VectorFiles.readFloats(npy("d.npy", 1, "<f8", "3,", false, doubles.array()));
        assertEquals(1, d.rows());
        assertArrayEquals(new float[] {1.5f, 2f, -3f}, d.data());
        ByteBuffer longs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(9);
        assertArrayEquals(new int[] {7, 9}, VectorFiles.readInts(npy("l.npy", 1, "<i8", "1, 2", false,
                longs.array())).data());
    }

    @Test
    void malformedFilesAreRefusedWithAReason() throws Exception {
        byte[] four = new byte[16];
        assertRefused(npy("f.npy", 1, "<f4", "2, 2", true, four), "Fortran");
        assertRefused(npy("b.npy", 1, ">f4", "2, 2", false, four), "dtype");
        assertRefused(npy("s.npy", 1, "<f4", "3, 2", false, four), "does not match");
        assertRefused(npy("t.npy", 1, "<f4", "2, 2, 1", false, four), "1-D or 2-D");
        assertRefused(npy("i.npy", 1, "<i4", "2, 2", false, four), "expected float");
        Files.writeString(dir.resolve("x.npy"), "not numpy");
        assertRefused(dir.resolve("x.npy"), "magic");
        ByteBuffer mixed = ByteBuffer.allocate(4 + 8 + 4 + 12).order(ByteOrder.LITTLE_ENDIAN);
        mixed.putInt(2).putFloat(1).putFloat(2).putInt(3).putFloat(1).putFloat(2).putFloat(3);
        Files.write(dir.resolve("m.fvecs"), mixed.array());
        assertRefused(dir.resolve("m.fvecs"), "");
        Files.write(dir.resolve("e.fvecs"), new byte[0]);
        assertRefused(dir.resolve("e.fvecs"), "empty");
        ByteBuffer negative = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-1).putInt(0);
        Files.write(dir.resolve("n.fvecs"), negative.array());
        assertRefused(dir.resolve("n.fvecs"), "bad dimension");
        assertRefused(dir.resolve("v.csv"), "unknown vector file type");
    }

    void assertRefused(Path file, String reason) {
        Exception e = assertThrows(VectorFiles.VectorFileException.class, () -> VectorFiles.readFloats(file));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
