package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds TorchScript files itself, in the layout torch.jit.save writes (a zip of data.pkl, code/__torch__.py,
 * constants.pkl and version), and loads them as global models.
 */
class TorchScriptModelTest {
    @TempDir
    Path dir;

    /** A parameterless scripted module whose forward is the given TorchScript expression of x. */
    static void writeModule(Path file, String expression) throws IOException {
        writeModule(file, expression, "Tensor");
    }

    static void writeModule(Path file, String expression, String returnType) throws IOException {
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        // The module object: __torch__.M with its one attribute, as TorchScript pickles it (protocol 2).
        pkl.write(new byte[] {(byte) 0x80, 2});
        pkl.write("c__torch__\nM\n".getBytes(StandardCharsets.US_ASCII));
        pkl.write(new byte[] {'q', 0, ')', (byte) 0x81, '}', '(', 'X', 8, 0, 0, 0});
        pkl.write("training".getBytes(StandardCharsets.US_ASCII));
        pkl.write(new byte[] {'q', 1, (byte) 0x89, 'u', 'b', '.'});
        String code = "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n  training : bool\n"
                + "  def forward(self: __torch__.M,\n    x: Tensor) -> " + returnType + ":\n    return " + expression
                + "\n";
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            put(zip, "archive/data.pkl", pkl.toByteArray());
            put(zip, "archive/code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            put(zip, "archive/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            put(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    @Test
    void loadsAScriptedModuleAndMatchesTheSameMathInJava() throws Exception {
        Path file = dir.resolve("pool.pt");
        writeModule(file, "torch.flatten(torch.avg_pool2d(x, [7, 7]), 1)");
        TorchScriptModel model = TorchScriptModel.load("pool", file, 1, 28, 28, 16);
        Random random = new Random();
        float[] pixels = new float[2 * 28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextFloat();
        }
        float[] got = model.embed(Tensor.create(pixels, 2, 1, 28, 28));
        assertEquals(32, got.length);
        for (int b = 0; b < 2; b++) {
            for (int cell = 0; cell < 16; cell++) {
                double sum = 0;
                for (int y = 0; y < 7; y++) {
                    for (int x = 0; x < 7; x++) {
                        sum += pixels[b * 784 + ((cell / 4) * 7 + y) * 28 + (cell % 4) * 7 + x];
                    }
                }
                assertEquals(sum / 49, got[b * 16 + cell], 1e-5, "image " + b + " cell " + cell);
            }
        }
        assertEquals("pool", model.spec(file).name());
        assertEquals(16, model.spec(file).dim());
    }

    @Test
    void mismatchesAndBadFilesAreClearErrors() throws Exception {
        Path file = dir.resolve("pool.pt");
        writeModule(file, "torch.flatten(torch.avg_pool2d(x, [7, 7]), 1)");
        IOException e = assertThrows(IOException.class, () -> TorchScriptModel.load("pool", file, 1, 28, 28, 10));
        assertTrue(e.getMessage().contains("dimension 10") && e.getMessage().contains("16"), e.getMessage());
        e = assertThrows(IOException.class, () -> TorchScriptModel.load("pool", file, 1, 5, 5, 16));
        assertTrue(e.getMessage().contains("failed"), e.getMessage());
        Files.writeString(dir.resolve("junk.pt"), "not a zip");
        e = assertThrows(IOException.class, () -> TorchScriptModel.load("junk", dir.resolve("junk.pt"), 1, 28, 28, 4));
        assertTrue(e.getMessage().contains("not a loadable TorchScript"), e.getMessage());
        assertThrows(IOException.class, () -> TorchScriptModel.load("none", dir.resolve("none.pt"), 1, 28, 28, 4));
        TorchScriptModel ok = TorchScriptModel.load("pool", file, 1, 28, 28, 16);
        assertThrows(IllegalArgumentException.class, () -> ok.embed(Tensor.create(new float[3 * 784], 1, 3, 28,
                28)));
    }

    /** A local model: 16 cells of 7x7 as 1-d descriptors, each at its cell centre; the first 10 are kept. */
    @Test
    void loadsALocalModelReturningDescriptorsAndPositions() throws Exception {
        Path file = dir.resolve("cells.pt");
        writeModule(file, "(torch.reshape(torch.avg_pool2d(x, [7, 7]), [x.size(0), 16, 1]), "
                + "torch.mul(torch.ones([x.size(0), 16, 3]), 3.5))", "Tuple[Tensor, Tensor]");
        TorchScriptModel model = TorchScriptModel.load("cells", file, 1, 28, 28, 1, 10);
        float[] pixels = new float[784];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (i / 28) / 7 * 4 + (i % 28) / 7;  // each 7x7 cell holds its index
        }
        org.affengine.data.Features.LocalSet[] sets = model.extractLocal(Tensor.create(pixels, 1, 1, 28, 28));
        assertEquals(1, sets.length);
        assertEquals(10, sets[0].count());
        for (int k = 0; k < 10; k++) {
            assertEquals(k, sets[0].rows()[k], 1e-5);
            assertEquals(3.5f, sets[0].positions()[k * 3], 1e-6f);
        }
        assertEquals(org.affengine.data.FeatureSpec.Kind.LOCAL, model.spec(file).kind());
        IOException e = assertThrows(IOException.class, () -> TorchScriptModel.load("cells", file, 1, 28, 28, 4, 10));
        assertTrue(e.getMessage().contains("local model of dimension 4"), e.getMessage());
        Path global = dir.resolve("pool.pt");
        writeModule(global, "torch.flatten(torch.avg_pool2d(x, [7, 7]), 1)");
        e = assertThrows(IOException.class, () -> TorchScriptModel.load("pool", global, 1, 28, 28, 16, 10));
        assertTrue(e.getMessage().contains("a tensor of shape"), e.getMessage());
    }
}
