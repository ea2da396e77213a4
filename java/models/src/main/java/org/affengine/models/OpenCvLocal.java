package org.affengine.models;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2GRAY;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;

import java.util.Map;
import org.affengine.data.FeatureSpec;
import org.affengine.data.Features;
import org.affengine.data.RawImage;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.javacpp.indexer.UByteIndexer;
import org.bytedeco.opencv.opencv_core.KeyPoint;
import org.bytedeco.opencv.opencv_core.KeyPointVector;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_features2d.Feature2D;
import org.bytedeco.opencv.opencv_features2d.SIFT;
import org.bytedeco.opencv.opencv_xfeatures2d.TEBLID;

/**
 * Classical and learned local descriptors compiled into OpenCV, as a local gallery model: SIFT keypoints (the
 * strongest by response) described by SIFT (as RootSIFT: L1-normalised, square-rooted, 128-d) or by TEBLID (a
 * learned binary descriptor, 256 bits as +-1/16 so inner products rank by Hamming distance). Each descriptor keeps
 * the keypoint's x, y and size. For photographs: on 28x28 thumbnails they find almost nothing.
 */
public final class OpenCvLocal {
    public enum Kind {
        SIFT,
        TEBLID
    }

    private final Kind kind;
    private final int maxKeypoints;

    public OpenCvLocal(Kind kind, int maxKeypoints) {
        if (maxKeypoints < 1) {
            throw new IllegalArgumentException("maxKeypoints must be >= 1");
        }
        this.kind = kind;
        this.maxKeypoints = maxKeypoints;
    }

    public String modelName() {
        return kind == Kind.SIFT ? "sift" : "sift-teblid";
    }

    public int dim() {
        return kind == Kind.SIFT ? 128 : 256;
    }

    public FeatureSpec spec() {
        return FeatureSpec.local(modelName(), dim(), maxKeypoints, Map.of("detector", "OpenCV SIFT, strongest "
                + maxKeypoints, "descriptor", kind == Kind.SIFT ? "RootSIFT" : "TEBLID (scale 6.75, 256 bits)"));
    }

    public Features.LocalSet extract(RawImage image) {
        try (PointerScope scope = new PointerScope()) {
            Mat grey = grey(image);
            SIFT detector = SIFT.create(maxKeypoints, 3, 0.04, 10, 1.6, false);
            KeyPointVector points = new KeyPointVector();
            detector.detect(grey, points);
            Feature2D describer = kind == Kind.SIFT ? detector : TEBLID.create(6.75f);
            if (points.size() == 0) {  // a flat or tiny image: nothing to describe (and no Mat to index)
                return new Features.LocalSet(0, new float[0], new float[0]);
            }
            Mat desc = new Mat();
            describer.compute(grey, points, desc);
            if (desc.empty()) {
                return new Features.LocalSet(0, new float[0], new float[0]);
            }
            int n = (int) Math.min(points.size(), desc.rows());
            n = Math.min(n, maxKeypoints);
            float[] rows = new float[n * dim()];
            float[] positions = new float[n * 3];
            if (kind == Kind.SIFT) {
                FloatIndexer values = desc.createIndexer();
                for (int r = 0; r < n; r++) {
                    double l1 = 0;
                    for (int c = 0; c < 128; c++) {
                        l1 += Math.abs(values.get(r, c));
                    }
                    for (int c = 0; c < 128; c++) {
                        rows[r * 128 + c] = (float) Math.sqrt(Math.abs(values.get(r, c)) / Math.max(1e-12, l1));
                    }
                }
                values.release();
            } else {
                UByteIndexer bytes = desc.createIndexer();
                for (int r = 0; r < n; r++) {
                    for (int b = 0; b < 32; b++) {
                        int v = bytes.get(r, b);
                        for (int bit = 0; bit < 8; bit++) {
                            rows[r * 256 + b * 8 + bit] = ((v >> bit) & 1) == 1 ? 1f / 16 : -1f / 16;
                        }
                    }
                }
                bytes.release();
            }
            for (int r = 0; r < n; r++) {
                KeyPoint k = points.get(r);
                positions[r * 3] = k.pt().x();
                positions[r * 3 + 1] = k.pt().y();
                positions[r * 3 + 2] = k.size();
            }
            return new Features.LocalSet(n, rows, positions);
        }
    }

    private static Mat grey(RawImage image) {
        Mat m = new Mat(image.height(), image.width(), image.channels() == 1 ? CV_8UC1 : CV_8UC3);
        m.data().put(image.pixels());
        if (image.channels() == 3) {
            Mat g = new Mat();
            cvtColor(m, g, COLOR_RGB2GRAY);
            return g;
        }
        return m;
    }
}
