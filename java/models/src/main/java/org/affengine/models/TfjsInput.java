package org.affengine.models;

import java.util.List;
import org.affengine.data.RawImage;

/**
 * Images as the TF.js Keras models of nsfwjs take them: RGB (grey replicated), bilinear resize with aligned corners
 * to the model's square input, pixels / 255, NHWC float32.
 */
public final class TfjsInput {
    private TfjsInput() {}

    public static float[] nhwc(List<RawImage> images, int side) {
        float[] out = new float[images.size() * side * side * 3];
        int at = 0;
        for (RawImage img : images) {
            double sy = side > 1 ? (img.height() - 1) / (double) (side - 1) : 0;
            double sx = side > 1 ? (img.width() - 1) / (double) (side - 1) : 0;
            for (int y = 0; y < side; y++) {
                double fy = y * sy;
                int y0 = (int) Math.floor(fy), y1 = Math.min(y0 + 1, img.height() - 1);
                double wy = fy - y0;
                for (int x = 0; x < side; x++) {
                    double fx = x * sx;
                    int x0 = (int) Math.floor(fx), x1 = Math.min(x0 + 1, img.width() - 1);
                    double wx = fx - x0;
                    for (int c = 0; c < 3; c++) {
                        int ch = img.channels() == 1 ? 0 : c;
                        double top = img.at(x0, y0, ch) * (1 - wx) + img.at(x1, y0, ch) * wx;
                        double bottom = img.at(x0, y1, ch) * (1 - wx) + img.at(x1, y1, ch) * wx;
                        out[at++] = (float) ((top * (1 - wy) + bottom * wy) / 255.0);
                    }
                }
            }
        }
        return out;
    }
}
