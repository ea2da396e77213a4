package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.eval.ClassEval;
import org.affengine.index.Metric;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ResNetGemTest {
    static double classMap(GlobalNet net, FashionMnist test, int n) {
        float[] v = Embeddings.embed(net, test, 0, n, 250, i -> { });
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = test.get(i).label();
        }
        return ClassEval.evaluate(v, labels, v, labels, net.dim(), Metric.INNER_PRODUCT, true).mapAll();
    }

    /** A short training run on the real Fashion-MNIST lifts retrieval mAP far above the untrained network. */
    @Test
    void trainingOnFashionMnistLiftsRetrievalMap() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "dataset-fashion-mnist not installed");
        FashionMnist train = FashionMnist.load(Dataset.Split.TRAIN);
        FashionMnist test = FashionMnist.load(Dataset.Split.TEST);
        ResNetGem net = new ResNetGem(8, 1, 32);
        org.bytedeco.pytorch.global.torch.manual_seed(1);
        double before = classMap(net, test, 1000);
        List<Trainer.Point> curve = Trainer.train(net, train, new Trainer.Config(150, 64, 0.05, 0.9, 1e-4, 1, 50),
                i -> { });
        assertEquals(3, curve.size());
        assertTrue(curve.get(2).loss() < curve.get(0).loss(), "loss falls: " + curve);
        double after = classMap(net, test, 1000);
        System.out.printf("ResNet-GeM (8, 1, 32), 150 steps: class mAP on 1,000 test images %.4f -> %.4f%n", before, after);
        assertTrue(after > before + 0.15 && after > 0.45, "mAP " + before + " -> " + after);
    }
}
