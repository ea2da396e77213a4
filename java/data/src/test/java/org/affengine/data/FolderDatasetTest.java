package org.affengine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderDatasetTest {
    @TempDir
    Path dir;

    void image(Path path, int w, int h, int rgb) throws IOException {
        Files.createDirectories(path.getParent());
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        ImageIO.write(img, path.toString().endsWith(".png") ? "png" : "jpg", path.toFile());
    }

    @Test
    void gldv2LayoutAndFlatLayout() throws Exception {
        image(dir.resolve("a/b/c/abc123.jpg"), 30, 20, 0x336699);
        image(dir.resolve("flat7.png"), 10, 12, 0xff0000);
        image(dir.resolve("d/e/f/def9.jpg"), 8, 8, 0x00ff00);
        Path csv = dir.resolve("train.csv");
        Files.writeString(csv, "id,landmark_id\nabc123,1234\nflat7,99\ndef9,1234\n");
        FolderDataset d = FolderDataset.open(dir, csv, Dataset.Split.TRAIN, new ImageCodec());
        assertEquals(3, d.size());
        assertEquals(2, d.classes());
        assertEquals(List.of("1234", "99"), d.labelNames());
        LabelledImage first = d.get(0);
        assertEquals("abc123", first.id());
        assertEquals(0, first.label());
        assertEquals(30, first.image().width());
        assertEquals(1, d.get(1).label());
        assertEquals(255, d.get(1).image().at(0, 0, 0));
        assertEquals(0, d.get(2).label());
    }

    @Test
    void problemsAreNamed() throws Exception {
        image(dir.resolve("x1.jpg"), 4, 4, 0);
        Path csv = dir.resolve("train.csv");
        Files.writeString(csv, "id,label\nx1,a\nmissing,b\n");
        IOException e = assertThrows(IOException.class,
                () -> FolderDataset.open(dir, csv, Dataset.Split.TRAIN, new ImageCodec()));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        Files.writeString(csv, "id,label\n../etc/passwd,a\n");
        assertTrue(assertThrows(IOException.class, () -> FolderDataset.open(dir, csv, Dataset.Split.TRAIN,
                new ImageCodec())).getMessage().contains("bad image id"));
        Files.writeString(csv, "name,class\nx1,a\n");
        assertThrows(IOException.class, () -> FolderDataset.open(dir, csv, Dataset.Split.TRAIN, new ImageCodec()));
        // A file that is corrupt only shows when read: the error names the id.
        Files.writeString(csv, "id,label\nx1,a\n");
        FolderDataset d = FolderDataset.open(dir, csv, Dataset.Split.TEST, new ImageCodec());
        Files.write(dir.resolve("x1.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2});
        UncheckedIOException u = assertThrows(UncheckedIOException.class, () -> d.get(0));
        assertTrue(u.getMessage().startsWith("x1:"), u.getMessage());
    }
}
