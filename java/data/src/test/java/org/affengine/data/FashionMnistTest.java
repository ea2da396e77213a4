package org.affengine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
    @TempDir
    Path dir;

    /** The real files from Debian's dataset-fashion-mnist (bin/env.sh installs it). */
    @Test
    void readsTheDebianPackage() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "dataset-fashion-mnist not installed");
        FashionMnist train = FashionMnist.load(Dataset.Split.TRAIN);
        FashionMnist test = FashionMnist.load(Dataset.Split.TEST);
        assertEquals(60_000, train.size());
        assertEquals(10_000, test.size());
        assertEquals(10, test.classes());
        // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
        int[] perClass = new int[10];
        for (int i = 0; i < test.size(); i++) {
            perClass[test.get(i).label()]++;
        }
        for (int c = 0; c < 10; c++) {
            assertEquals(1000, perClass[c], "class " + c);
        }
        // The documented first labels of each split: Ankle boot (9) for train, Ankle boot (9) then Pullover (2).
        assertEquals(9, train.get(0).label());
        assertEquals(9, test.get(0).label());
        assertEquals(2, test.get(1).label());
        LabelledImage first = test.get(0);
        assertEquals(28, first.image().width());
        assertEquals(28, first.image().height());
        assertEquals(1, first.image().channels());
        assertEquals("test-0", first.id());
        int nonZero = 0;
        for (byte b : first.image().pixels()) {
            nonZero += b != 0 ? 1 : 0;
        }
        assertTrue(nonZero > 100 && nonZero < 784, "a real photo, not blank or full: " + nonZero);
        assertThrows(IndexOutOfBoundsException.class, () -> test.get(10_000));
    }

    static byte[] idx(int type, int[] shape, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(0);
        out.write(type);
        out.write(shape.length);
        for (int s : shape) {
            out.write(s >>> 24);
            out.write(s >>> 16);
            out.write(s >>> 8);
            out.write(s);
        }
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
    }

    @Test
    void smallFilesPlainAndGzippedAndMalformedOnes() throws Exception {
        byte[] pixels = new byte[2 * 3 * 2];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 20);
        }
        Files.write(dir.resolve("t10k-images-idx3-ubyte.gz"), gzip(idx(8, new int[] {2, 3, 2}, pixels)));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), idx(8, new int[] {2}, new byte[] {4, 7}));
        FashionMnist small = FashionMnist.load(dir, Dataset.Split.TEST);
        assertEquals(2, small.size());
        assertEquals(7, small.get(1).label());
        assertEquals(2, small.get(1).image().width());
        assertEquals(3, small.get(1).image().height());
        assertEquals(6 * 20, small.get(1).image().at(0, 0, 0));

        assertRefused(idx(8, new int[] {2, 3, 2}, new byte[5]), "truncated");
        assertRefused(idx(0x0d, new int[] {1}, new byte[4]), "not supported");
        assertRefused(new byte[] {1, 2, 3, 4}, "bad magic");
        assertRefused(new byte[] {0, 0}, "truncated");
        Files.write(dir.resolve("x.gz"), new byte[] {0x1f, (byte) 0x8b, 1, 2, 3});
        assertTrue(assertThrows(IOException.class, () -> Idx.read(dir.resolve("x.gz"))).getMessage()
                .contains("gzip"));
        // Labels outside the 10 classes, and counts that disagree, are refused.
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), idx(8, new int[] {2}, new byte[] {4, 12}));
        assertThrows(IOException.class, () -> FashionMnist.load(dir, Dataset.Split.TEST));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), idx(8, new int[] {3}, new byte[] {1, 2, 3}));
        assertThrows(IOException.class, () -> FashionMnist.load(dir, Dataset.Split.TEST));
        assertThrows(IOException.class, () -> FashionMnist.load(dir, Dataset.Split.TRAIN));
    }

    void assertRefused(byte[] bytes, String reason) throws Exception {
        Path f = dir.resolve("bad.idx");
        Files.write(f, bytes);
        IOException e = assertThrows(IOException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
