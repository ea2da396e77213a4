package org.affengine.data;

/** Decoded pixels: height x width x channels bytes, row-major, channels interleaved (grey 1, colour 3 as RGB). */
public record RawImage(int width, int height, int channels, byte[] pixels) {
    public RawImage {
        if (width < 1 || height < 1 || (channels != 1 && channels != 3)) {
            throw new IllegalArgumentException("bad image shape " + width + "x" + height + "x" + channels);
        }
        if (pixels.length != (long) width * height * channels) {
            throw new IllegalArgumentException(pixels.length + " bytes for a " + width + "x" + height + "x" + channels
                    + " image");
        }
    }

    /** The value of channel c at (x, y), 0..255. */
    public int at(int x, int y, int c) {
        return pixels[(y * width + x) * channels + c] & 0xff;
    }
}
