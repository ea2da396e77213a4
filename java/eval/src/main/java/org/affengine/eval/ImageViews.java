package org.affengine.eval;

import java.awt.image.BufferedImage;
import java.util.SplittableRandom;

/**
 * The image operations that make a view of a photo, in plain Java so that a seed gives the same pixels on every
 * machine: a projective warp of a quadrilateral of the source (crop + rotation + perspective), colour and
 * illumination changes, Gaussian blur, sensor noise and an occluding rectangle. JPEG re-encoding happens when the
 * view is written.
 */
final class ImageViews {
    private ImageViews() {}

    /** How far a view departs from its source; every range is sampled uniformly. */
    record Strength(String name, double minArea, double maxArea, double maxRotationDeg, double maxJitter,
                    double maxColour, double maxBlur, double maxNoise, double maxOcclusion, int minQuality,
                    int maxQuality) {}

    static final Strength EASY = new Strength("easy", 0.65, 1.0, 6, 0.03, 0.10, 0.6, 2, 0.0, 85, 95);
    static final Strength HARD = new Strength("hard", 0.30, 0.55, 30, 0.12, 0.35, 1.8, 8, 0.20, 45, 75);
    static final Strength JUNK = new Strength("junk", 0.04, 0.10, 45, 0.15, 0.50, 3.5, 12, 0.45, 25, 45);

    /** A view of the source at the given strength, about outSize pixels on its long side. */
    static BufferedImage view(BufferedImage src, Strength s, int outSize, SplittableRandom rnd) {
        int w = src.getWidth();
        int h = src.getHeight();
        // Crop: a rectangle of the requested area fraction and the source's aspect (+-20%), anywhere inside.
        double area = uniform(rnd, s.minArea(), s.maxArea());
        double aspect = (double) w / h * uniform(rnd, 0.8, 1.25);
        double cw = Math.min(w, Math.sqrt(area * w * h * aspect));
        double ch = Math.min(h, cw / aspect);
        double cx = uniform(rnd, cw / 2, w - cw / 2);
        double cy = uniform(rnd, ch / 2, h - ch / 2);
        double angle = Math.toRadians(uniform(rnd, -s.maxRotationDeg(), s.maxRotationDeg()));
        double[][] quad = new double[4][];
        double[][] unit = {{-0.5, -0.5}, {0.5, -0.5}, {0.5, 0.5}, {-0.5, 0.5}};
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        for (int i = 0; i < 4; i++) {
            double px = unit[i][0] * cw + uniform(rnd, -s.maxJitter(), s.maxJitter()) * cw;
            double py = unit[i][1] * ch + uniform(rnd, -s.maxJitter(), s.maxJitter()) * ch;
            quad[i] = new double[] {cx + cos * px - sin * py, cy + sin * px + cos * py};
        }
        int ow = cw >= ch ? outSize : (int) Math.round(outSize * cw / ch);
        int oh = cw >= ch ? (int) Math.round(outSize * ch / cw) : outSize;
        BufferedImage out = warp(src, quad, Math.max(16, ow), Math.max(16, oh));
        colour(out, rnd, s.maxColour());
        blur(out, uniform(rnd, 0, s.maxBlur()));
        noise(out, rnd, uniform(rnd, 0, s.maxNoise()));
        occlude(out, rnd, uniform(rnd, 0, s.maxOcclusion()));
        return out;
    }

    static double uniform(SplittableRandom rnd, double lo, double hi) {
        return hi <= lo ? lo : lo + (hi - lo) * rnd.nextDouble();
    }

    /** Resizes so the long side is at most size (area-weighted box filter when shrinking). */
    static BufferedImage fit(BufferedImage src, int size) {
        int w = src.getWidth();
        int h = src.getHeight();
        double f = Math.min(1.0, (double) size / Math.max(w, h));
        if (f >= 1.0) {
            return toRgb(src);
        }
        double[][] quad = {{0, 0}, {w, 0}, {w, h}, {0, h}};
        return warp(src, quad, Math.max(1, (int) Math.round(w * f)), Math.max(1, (int) Math.round(h * f)));
    }

    static BufferedImage toRgb(BufferedImage src) {
        if (src.getType() == BufferedImage.TYPE_INT_RGB) {
            return src;
        }
        BufferedImage out = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < src.getHeight(); y++) {
            for (int x = 0; x < src.getWidth(); x++) {
                out.setRGB(x, y, src.getRGB(x, y) & 0xffffff);
            }
        }
        return out;
    }

    /**
     * Maps the output rectangle onto the source quadrilateral (corners clockwise from top-left) by the homography
     * through the four corners, sampling the source with a bilinear filter averaged over 2x2 sub-pixels (so
     * shrinking does not alias). Outside the source: mid grey.
     */
    static BufferedImage warp(BufferedImage src, double[][] quad, int ow, int oh) {
        double[] hmg = homography(new double[][] {{0, 0}, {ow, 0}, {ow, oh}, {0, oh}}, quad);
        BufferedImage out = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        int[] rgb = src.getRGB(0, 0, src.getWidth(), src.getHeight(), null, 0, src.getWidth());
        int sw = src.getWidth();
        int sh = src.getHeight();
        double[] acc = new double[3];
        int[] row = new int[ow];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                acc[0] = acc[1] = acc[2] = 0;
                for (int sy = 0; sy < 2; sy++) {
                    for (int sx = 0; sx < 2; sx++) {
                        double u = x + 0.25 + 0.5 * sx;
                        double v = y + 0.25 + 0.5 * sy;
                        double d = hmg[6] * u + hmg[7] * v + 1;
                        sample(rgb, sw, sh, (hmg[0] * u + hmg[1] * v + hmg[2]) / d - 0.5,
                                (hmg[3] * u + hmg[4] * v + hmg[5]) / d - 0.5, acc);
                    }
                }
                row[x] = pack(acc[0] / 4, acc[1] / 4, acc[2] / 4);
            }
            out.setRGB(0, y, ow, 1, row, 0, ow);
        }
        return out;
    }

    private static void sample(int[] rgb, int w, int h, double fx, double fy, double[] acc) {
        if (fx < -0.5 || fy < -0.5 || fx > w - 0.5 || fy > h - 0.5) {
            acc[0] += 128;
            acc[1] += 128;
            acc[2] += 128;
            return;
        }
        int x0 = (int) Math.floor(fx);
        int y0 = (int) Math.floor(fy);
        double ax = fx - x0;
        double ay = fy - y0;
        for (int c = 0; c < 3; c++) {
            int shift = 16 - 8 * c;
            double top = (1 - ax) * channel(rgb, w, h, x0, y0, shift) + ax * channel(rgb, w, h, x0 + 1, y0, shift);
            double bottom = (1 - ax) * channel(rgb, w, h, x0, y0 + 1, shift)
                    + ax * channel(rgb, w, h, x0 + 1, y0 + 1, shift);
            acc[c] += (1 - ay) * top + ay * bottom;
        }
    }

    private static int channel(int[] rgb, int w, int h, int x, int y, int shift) {
        int cx = Math.min(w - 1, Math.max(0, x));
        int cy = Math.min(h - 1, Math.max(0, y));
        return (rgb[cy * w + cx] >> shift) & 0xff;
    }

    static int pack(double r, double g, double b) {
        return (clamp(r) << 16) | (clamp(g) << 8) | clamp(b);
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }

    /** The homography h (row-major, h33 = 1) with h(from[i]) = to[i] for four point pairs. */
    static double[] homography(double[][] from, double[][] to) {
        double[][] a = new double[8][9];
        for (int i = 0; i < 4; i++) {
            double x = from[i][0];
            double y = from[i][1];
            double u = to[i][0];
            double v = to[i][1];
            a[2 * i] = new double[] {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
            a[2 * i + 1] = new double[] {0, 0, 0, x, y, 1, -v * x, -v * y, v};
        }
        // Gaussian elimination with partial pivoting on the 8x9 augmented system.
        for (int col = 0; col < 8; col++) {
            int pivot = col;
            for (int r = col + 1; r < 8; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            double[] tmp = a[col];
            a[col] = a[pivot];
            a[pivot] = tmp;
            if (Math.abs(a[col][col]) < 1e-12) {
                throw new IllegalArgumentException("degenerate quadrilateral");
            }
            for (int r = 0; r < 8; r++) {
                if (r != col) {
                    double f = a[r][col] / a[col][col];
                    for (int c = col; c < 9; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        double[] h = new double[8];
        for (int i = 0; i < 8; i++) {
            h[i] = a[i][8] / a[i][i];
        }
        return h;
    }

    /** Brightness, contrast, saturation and a per-channel cast, each up to +-amount. */
    static void colour(BufferedImage img, SplittableRandom rnd, double amount) {
        double gain = 1 + uniform(rnd, -amount, amount);
        double contrast = 1 + uniform(rnd, -amount, amount);
        double saturation = 1 + uniform(rnd, -amount, amount);
        double[] cast = {1 + uniform(rnd, -amount, amount) / 2, 1 + uniform(rnd, -amount, amount) / 2,
            1 + uniform(rnd, -amount, amount) / 2};
        int w = img.getWidth();
        int h = img.getHeight();
        int[] px = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < px.length; i++) {
            double r = (px[i] >> 16) & 0xff;
            double g = (px[i] >> 8) & 0xff;
            double b = px[i] & 0xff;
            double grey = 0.299 * r + 0.587 * g + 0.114 * b;
            double[] c = {r, g, b};
            for (int k = 0; k < 3; k++) {
                double v = grey + saturation * (c[k] - grey);
                v = 128 + contrast * (v - 128);
                c[k] = v * gain * cast[k];
            }
            px[i] = pack(c[0], c[1], c[2]);
        }
        img.setRGB(0, 0, w, h, px, 0, w);
    }

    /** Separable Gaussian blur; sigma below 0.3 px leaves the image as it is. */
    static void blur(BufferedImage img, double sigma) {
        if (sigma < 0.3) {
            return;
        }
        int radius = (int) Math.ceil(3 * sigma);
        double[] kernel = new double[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++) {
            kernel[i + radius] = Math.exp(-i * i / (2 * sigma * sigma));
            sum += kernel[i + radius];
        }
        for (int i = 0; i < kernel.length; i++) {
            kernel[i] /= sum;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        int[] px = img.getRGB(0, 0, w, h, null, 0, w);
        int[] tmp = new int[px.length];
        pass(px, tmp, w, h, kernel, radius, true);
        pass(tmp, px, w, h, kernel, radius, false);
        img.setRGB(0, 0, w, h, px, 0, w);
    }

    private static void pass(int[] in, int[] out, int w, int h, double[] k, int radius, boolean horizontal) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double r = 0;
                double g = 0;
                double b = 0;
                for (int i = -radius; i <= radius; i++) {
                    int sx = horizontal ? Math.min(w - 1, Math.max(0, x + i)) : x;
                    int sy = horizontal ? y : Math.min(h - 1, Math.max(0, y + i));
                    int p = in[sy * w + sx];
                    double f = k[i + radius];
                    r += f * ((p >> 16) & 0xff);
                    g += f * ((p >> 8) & 0xff);
                    b += f * (p & 0xff);
                }
                out[y * w + x] = pack(r, g, b);
            }
        }
    }

    /** Additive Gaussian noise of the given standard deviation (grey levels). */
    static void noise(BufferedImage img, SplittableRandom rnd, double sigma) {
        if (sigma <= 0) {
            return;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        int[] px = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < px.length; i++) {
            px[i] = pack(((px[i] >> 16) & 0xff) + sigma * gaussian(rnd), ((px[i] >> 8) & 0xff) + sigma * gaussian(rnd),
                    (px[i] & 0xff) + sigma * gaussian(rnd));
        }
        img.setRGB(0, 0, w, h, px, 0, w);
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = 1 - rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** A flat-coloured rectangle covering the given fraction of the image. */
    static void occlude(BufferedImage img, SplittableRandom rnd, double fraction) {
        if (fraction < 0.01) {
            return;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        double aspect = uniform(rnd, 0.5, 2.0);
        int rw = (int) Math.min(w, Math.sqrt(fraction * w * h * aspect));
        int rh = (int) Math.min(h, fraction * w * h / Math.max(1, rw));
        int x0 = rnd.nextInt(Math.max(1, w - rw + 1));
        int y0 = rnd.nextInt(Math.max(1, h - rh + 1));
        int colour = rnd.nextInt(1 << 24);
        for (int y = y0; y < y0 + rh; y++) {
            for (int x = x0; x < x0 + rw; x++) {
                img.setRGB(x, y, colour);
            }
        }
    }
}
