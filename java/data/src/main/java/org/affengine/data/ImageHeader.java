package org.affengine.data;

/**
 * Format and size of an encoded image, read from its first bytes before anything is decoded, and a check that the
 * file is complete: decoders (OpenCV's included) quietly return a partly grey picture for a truncated JPEG, and a
 * small file can claim billions of pixels.
 */
record ImageHeader(String format, long width, long height) {

    /** Reads the header; throws {@link ImageException} for unknown formats, bad headers and truncated files. */
    static ImageHeader read(byte[] b) throws ImageException {
        if (b.length == 0) {
            throw new ImageException("empty image data (0 bytes)");
        }
        if (startsWith(b, 0xFF, 0xD8, 0xFF)) {
            return jpeg(b);
        }
        if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return png(b);
        }
        if (b.length >= 12 && startsWith(b, 'R', 'I', 'F', 'F') && b[8] == 'W' && b[9] == 'E' && b[10] == 'B'
                && b[11] == 'P') {
            return webp(b);
        }
        if (startsWith(b, 'B', 'M')) {
            return bmp(b);
        }
        throw new ImageException("not a JPEG, PNG, WebP or BMP image (unknown leading bytes)");
    }

    private static boolean startsWith(byte[] b, int... prefix) {
        if (b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((b[i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    private static int be16(byte[] b, int i) {
        return (u8(b, i) << 8) | u8(b, i + 1);
    }

    private static long be32(byte[] b, int i) {
        return ((long) u8(b, i) << 24) | (u8(b, i + 1) << 16) | (u8(b, i + 2) << 8) | u8(b, i + 3);
    }

    private static long le32(byte[] b, int i) {
        return ((long) u8(b, i + 3) << 24) | (u8(b, i + 2) << 16) | (u8(b, i + 1) << 8) | u8(b, i);
    }

    private static ImageHeader jpeg(byte[] b) throws ImageException {
        int i = 2;
        long width = -1;
        long height = -1;
        while (i + 4 <= b.length) {
            if (u8(b, i) != 0xFF) {
                throw new ImageException("corrupt JPEG: expected a marker at byte " + i);
            }
            int marker = u8(b, i + 1);
            if (marker == 0xFF) {
                i++;
                continue;
            }
            int length = be16(b, i + 2);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof && i + 9 <= b.length) {
                height = be16(b, i + 5);
                width = be16(b, i + 7);
            }
            if (marker == 0xDA) {  // start of scan: entropy-coded data follows up to the end-of-image marker
                break;
            }
            i += 2 + length;
        }
        if (width <= 0 || height <= 0) {
            throw new ImageException("corrupt or truncated JPEG: no frame header with a size");
        }
        // The end-of-image marker must be there (allowing a little trailing padding, as cameras write).
        boolean eoi = false;
        for (int j = b.length - 2; j >= Math.max(i, b.length - 4096); j--) {
            if (u8(b, j) == 0xFF && u8(b, j + 1) == 0xD9) {
                eoi = true;
                break;
            }
        }
        if (!eoi) {
            throw new ImageException("truncated JPEG: no end-of-image marker");
        }
        return new ImageHeader("jpeg", width, height);
    }

    private static ImageHeader png(byte[] b) throws ImageException {
        if (b.length < 33 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
            throw new ImageException("corrupt or truncated PNG: no IHDR chunk");
        }
        long width = be32(b, 16);
        long height = be32(b, 20);
        // Walk the chunks to the IEND chunk: a cut file never reaches it.
        long i = 8;
        while (i + 12 <= b.length) {
            long length = be32(b, (int) i);
            boolean end = b[(int) i + 4] == 'I' && b[(int) i + 5] == 'E' && b[(int) i + 6] == 'N'
                    && b[(int) i + 7] == 'D';
            if (end) {
                if (width == 0 || height == 0) {
                    throw new ImageException("corrupt PNG: zero size");
                }
                return new ImageHeader("png", width, height);
            }
            i += 12 + length;
        }
        throw new ImageException("truncated PNG: no IEND chunk");
    }

    private static ImageHeader webp(byte[] b) throws ImageException {
        long riff = le32(b, 4) + 8;
        if (riff > b.length) {
            throw new ImageException("truncated WebP: " + b.length + " of " + riff + " bytes");
        }
        if (b.length < 30) {
            throw new ImageException("corrupt WebP: header too short");
        }
        String chunk = new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII);
        long width;
        long height;
        switch (chunk) {
            case "VP8 " -> {
                width = (u8(b, 26) | (u8(b, 27) << 8)) & 0x3FFF;
                height = (u8(b, 28) | (u8(b, 29) << 8)) & 0x3FFF;
            }
            case "VP8L" -> {
                long bits = le32(b, 21);
                width = (bits & 0x3FFF) + 1;
                height = ((bits >> 14) & 0x3FFF) + 1;
            }
            case "VP8X" -> {
                width = (u8(b, 24) | (u8(b, 25) << 8) | (u8(b, 26) << 16)) + 1L;
                height = (u8(b, 27) | (u8(b, 28) << 8) | (u8(b, 29) << 16)) + 1L;
            }
            default -> throw new ImageException("corrupt WebP: unknown chunk '" + chunk + "'");
        }
        if (width == 0 || height == 0) {
            throw new ImageException("corrupt WebP: zero size");
        }
        return new ImageHeader("webp", width, height);
    }

    private static ImageHeader bmp(byte[] b) throws ImageException {
        if (b.length < 30) {
            throw new ImageException("truncated BMP header");
        }
        long width = Math.abs((int) le32(b, 18));
        long height = Math.abs((int) le32(b, 22));
        int bits = u8(b, 28) | (u8(b, 29) << 8);
        long offset = le32(b, 10);
        long compression = b.length >= 34 ? le32(b, 30) : 0;
        if (width == 0 || height == 0 || bits == 0) {
            throw new ImageException("corrupt BMP: zero size or depth");
        }
        if (compression == 0) {  // uncompressed rows are padded to 4 bytes: the file must hold them all
            long rowBytes = (width * bits + 31) / 32 * 4;
            if (offset + rowBytes * height > b.length) {
                throw new ImageException("truncated BMP: " + b.length + " bytes, the pixels need "
                        + (offset + rowBytes * height));
            }
        }
        return new ImageHeader("bmp", width, height);
    }
}
