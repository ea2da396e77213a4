package org.affengine.data;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_GRAYSCALE;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGR2RGB;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * Decodes JPEG, PNG, WebP and BMP through OpenCV into {@link RawImage}s, grey or RGB, and resizes them. Input is
 * checked before any decoding: size in bytes, format, header dimensions against a pixel budget, completeness.
 * Native memory lives in a {@link PointerScope} per call.
 */
public final class ImageCodec {
    /** Byte and pixel budgets for untrusted input. */
    public record Limits(long maxBytes, long maxPixels) {
        public static final Limits DEFAULT = new Limits(32L << 20, 64L << 20);
    }

    private final Limits limits;

    public ImageCodec(Limits limits) {
        this.limits = limits;
    }

    public ImageCodec() {
        this(Limits.DEFAULT);
    }

    /** Decodes to RGB (colour = true) or grey. */
    public RawImage decode(byte[] data, boolean colour) throws ImageException {
        if (data.length > limits.maxBytes()) {
            throw new ImageException("image of " + data.length + " bytes exceeds the limit of " + limits.maxBytes());
        }
        ImageHeader header = ImageHeader.read(data);
        if (header.width() * header.height() > limits.maxPixels()) {
            throw new ImageException(header.format() + " image of " + header.width() + " x " + header.height()
                    + " pixels exceeds the limit of " + limits.maxPixels() + " pixels");
        }
        try (PointerScope scope = new PointerScope()) {
            Mat encoded = new Mat(1, data.length, CV_8UC1, new BytePointer(data));
            Mat decoded = imdecode(encoded, colour ? IMREAD_COLOR : IMREAD_GRAYSCALE);
            if (decoded == null || decoded.empty()) {
                throw new ImageException("corrupt " + header.format() + " image: the decoder could not read it");
            }
            if (colour) {
                cvtColor(decoded, decoded, COLOR_BGR2RGB);
            }
            return toRaw(decoded);
        }
    }

    /** Resizes to width x height: area averaging when shrinking, bilinear when enlarging. */
    public static RawImage resize(RawImage image, int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("target size must be positive, got " + width + " x " + height);
        }
        try (PointerScope scope = new PointerScope()) {
            Mat src = toMat(image);
            Mat dst = new Mat();
            boolean shrink = width < image.width() && height < image.height();
            org.bytedeco.opencv.global.opencv_imgproc.resize(src, dst, new Size(width, height), 0, 0,
                    shrink ? INTER_AREA : INTER_LINEAR);
            return toRaw(dst);
        }
    }

    /** The pixels inside [x1, x2) x [y1, y2), clipped to the image (query boxes of revisitop-style benchmarks). */
    public static RawImage crop(RawImage image, double x1, double y1, double x2, double y2) {
        int ax = (int) Math.max(0, Math.floor(x1));
        int ay = (int) Math.max(0, Math.floor(y1));
        int bx = (int) Math.min(image.width(), Math.ceil(x2));
        int by = (int) Math.min(image.height(), Math.ceil(y2));
        if (bx <= ax || by <= ay) {
            throw new IllegalArgumentException("box [" + x1 + ", " + y1 + ", " + x2 + ", " + y2 + "] is outside the "
                    + image.width() + " x " + image.height() + " image");
        }
        int c = image.channels();
        byte[] out = new byte[(bx - ax) * (by - ay) * c];
        for (int y = ay; y < by; y++) {
            System.arraycopy(image.pixels(), (y * image.width() + ax) * c, out, (y - ay) * (bx - ax) * c,
                    (bx - ax) * c);
        }
        return new RawImage(bx - ax, by - ay, c, out);
    }

    /**
     * Channels-first float values for a network: (pixel / 255 - mean[c]) / std[c], laid out [channels, height,
     * width]. mean and std have one entry per channel of the image.
     */
    public static float[] toChw(RawImage image, float[] mean, float[] std) {
        int c = image.channels();
        if (mean.length != c || std.length != c) {
            throw new IllegalArgumentException("mean and std need " + c + " values for a " + c + "-channel image");
        }
        int plane = image.width() * image.height();
        float[] out = new float[c * plane];
        byte[] px = image.pixels();
        for (int i = 0; i < plane; i++) {
            for (int k = 0; k < c; k++) {
                out[k * plane + i] = ((px[i * c + k] & 0xff) / 255f - mean[k]) / std[k];
            }
        }
        return out;
    }

    private static Mat toMat(RawImage image) {
        int type = image.channels() == 1 ? CV_8UC1 : org.bytedeco.opencv.global.opencv_core.CV_8UC3;
        Mat m = new Mat(image.height(), image.width(), type);
        m.data().put(image.pixels());
        return m;
    }

    private static RawImage toRaw(Mat m) {
        Mat continuous = m.isContinuous() ? m : m.clone();
        int channels = continuous.channels();
        byte[] pixels = new byte[continuous.rows() * continuous.cols() * channels];
        continuous.data().get(pixels);
        return new RawImage(continuous.cols(), continuous.rows(), channels, pixels);
    }
}
