package org.affengine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

class ImageCodecTest {
    final Random random = new Random();
    final ImageCodec codec = new ImageCodec();

    BufferedImage picture(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(random.nextInt(1 << 24)));
        g.fillRect(0, 0, w, h);
        for (int i = 0; i < 8; i++) {
            g.setColor(new Color(random.nextInt(1 << 24)));
            g.fillRect(random.nextInt(w), random.nextInt(h), 5 + random.nextInt(w / 2), 5 + random.nextInt(h / 2));
        }
        g.dispose();
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), format);
        return out.toByteArray();
    }

    /** WebP through OpenCV's own encoder (ImageIO has none), which takes BGR. */
    static byte[] webp(RawImage rgb) {
        Mat m = new Mat(rgb.height(), rgb.width(), org.bytedeco.opencv.global.opencv_core.CV_8UC3);
        m.data().put(rgb.pixels());
        org.bytedeco.opencv.global.opencv_imgproc.cvtColor(m, m,
                org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2BGR);
        BytePointer buf = new BytePointer();
        assertTrue(opencv_imgcodecs.imencode(".webp", m, buf));
        byte[] out = new byte[(int) buf.limit()];
        buf.get(out);
        return out;
    }

    static void assertClose(BufferedImage expected, RawImage got, int tolerance) {
        assertEquals(expected.getWidth(), got.width());
        assertEquals(expected.getHeight(), got.height());
        long err = 0;
        for (int y = 0; y < got.height(); y++) {
            for (int x = 0; x < got.width(); x++) {
                int p = expected.getRGB(x, y);
                err += Math.abs(((p >> 16) & 0xff) - got.at(x, y, 0)) + Math.abs(((p >> 8) & 0xff) - got.at(x, y, 1))
                        + Math.abs((p & 0xff) - got.at(x, y, 2));
            }
        }
        double mean = (double) err / (3.0 * got.width() * got.height());
        assertTrue(mean <= tolerance, "mean absolute error " + mean);
    }

    @Test
    void decodesEveryFormatInColourAndGrey() throws Exception {
        BufferedImage img = picture(67, 45);
        assertClose(img, codec.decode(encode(img, "png"), true), 0);
        assertClose(img, codec.decode(encode(img, "bmp"), true), 0);
        assertClose(img, codec.decode(encode(img, "jpg"), true), 12);
        RawImage fromPng = codec.decode(encode(img, "png"), true);
        assertClose(img, codec.decode(webp(fromPng), true), 12);
        RawImage grey = codec.decode(encode(img, "png"), false);
        assertEquals(1, grey.channels());
        assertEquals(67, grey.width());
        int p = img.getRGB(10, 10);
        double luma = 0.299 * ((p >> 16) & 0xff) + 0.587 * ((p >> 8) & 0xff) + 0.114 * (p & 0xff);
        assertEquals(luma, grey.at(10, 10, 0), 2.0);
    }

    @Test
    void badInputGetsAClearError() throws Exception {
        byte[] jpg = encode(picture(80, 60), "jpg");
        byte[] png = encode(picture(80, 60), "png");
        byte[] bmp = encode(picture(80, 60), "bmp");
        assertRefused(new byte[0], "empty");
        byte[] noise = new byte[500];
        random.nextBytes(noise);
        noise[0] = 1;
        assertRefused(noise, "not a JPEG, PNG, WebP or BMP");
        assertRefused("<html>hello</html>".getBytes(), "not a JPEG");
        assertRefused(Arrays.copyOf(jpg, jpg.length * 2 / 3), "truncated JPEG");
        assertRefused(Arrays.copyOf(jpg, 10), "JPEG");
        assertRefused(Arrays.copyOf(png, png.length - 20), "truncated PNG");
        assertRefused(Arrays.copyOf(png, 20), "PNG");
        assertRefused(Arrays.copyOf(bmp, bmp.length - 100), "truncated BMP");
        // A PNG that claims 100000 x 100000 pixels is refused before any decoding.
        byte[] bomb = png.clone();
        bomb[16] = 0;
        bomb[17] = 1;
        bomb[18] = (byte) 0x86;
        bomb[19] = (byte) 0xA0;
        System.arraycopy(bomb, 16, bomb, 20, 4);
        assertRefused(bomb, "exceeds the limit");
        ImageCodec tiny = new ImageCodec(new ImageCodec.Limits(100, 1 << 20));
        ImageException e = assertThrows(ImageException.class, () -> tiny.decode(png, true));
        assertTrue(e.getMessage().contains("bytes exceeds"), e.getMessage());
        // Valid headers, destroyed pixel data: the decoder's failure is reported, nothing is returned.
        byte[] broken = png.clone();
        for (int i = 40; i < broken.length - 16; i++) {
            broken[i] = (byte) 0x55;
        }
        assertRefused(broken, "corrupt");
    }

    void assertRefused(byte[] data, String reason) {
        ImageException e = assertThrows(ImageException.class, () -> codec.decode(data, true));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void resizeAndCrop() throws Exception {
        BufferedImage img = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(200, 100, 50));
        g.fillRect(0, 0, 20, 20);
        g.setColor(new Color(10, 20, 30));
        g.fillRect(20, 0, 20, 20);
        g.dispose();
        RawImage raw = codec.decode(encode(img, "png"), true);
        RawImage small = ImageCodec.resize(raw, 4, 2);
        assertEquals(4, small.width());
        assertEquals(200, small.at(0, 0, 0));
        assertEquals(30, small.at(3, 1, 2));
        RawImage big = ImageCodec.resize(raw, 80, 40);
        assertEquals(80, big.width());
        RawImage box = ImageCodec.crop(raw, 15.5, -3, 25, 10);
        assertEquals(10, box.width());
        assertEquals(10, box.height());
        assertEquals(200, box.at(0, 0, 0));
        assertEquals(10, box.at(9, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> ImageCodec.crop(raw, 50, 0, 60, 10));
        assertThrows(IllegalArgumentException.class, () -> ImageCodec.resize(raw, 0, 3));
        float[] chw = ImageCodec.toChw(raw, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.5f, 1f});
        assertEquals(3 * 40 * 20, chw.length);
        assertEquals((200 / 255f - 0.5f) / 0.25f, chw[0], 1e-6f);             // red plane, (0, 0)
        assertEquals((20 / 255f - 0.5f) / 0.5f, chw[800 + 39], 1e-6f);        // green plane, (39, 0)
        assertEquals((30 / 255f - 0.5f) / 1f, chw[1600 + 20 * 40 - 1], 1e-6f); // blue plane, last pixel
        assertThrows(IllegalArgumentException.class, () -> ImageCodec.toChw(raw, new float[1], new float[1]));
    }
}
