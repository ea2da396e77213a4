package org.affengine.serve;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.affengine.data.RawImage;
import org.affengine.train.AffModel;
import org.affengine.train.UntrainedModel;

/**
 * Test inputs: a real, untrained AFF model (written and loaded as the engine does) and random images.
 */
final class TinyModel {
    private TinyModel() {}

    static AffModel create(Path dir, int dim) throws IOException {
        return UntrainedModel.write(dir, dim, 11);
    }

    /** A random 28x28 grey image with a bright random rectangle (distinct images give distinct vectors). */
    static RawImage image(Random r) {
        byte[] px = new byte[28 * 28];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) r.nextInt(40);
        }
        int x0 = r.nextInt(20);
        int y0 = r.nextInt(20);
        int w = 3 + r.nextInt(8);
        int h = 3 + r.nextInt(8);
        for (int y = y0; y < Math.min(28, y0 + h); y++) {
            for (int x = x0; x < Math.min(28, x0 + w); x++) {
                px[y * 28 + x] = (byte) (150 + r.nextInt(100));
            }
        }
        return new RawImage(28, 28, 1, px);
    }
}
