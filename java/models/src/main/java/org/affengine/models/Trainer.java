package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.cross_entropy;
import static org.bytedeco.pytorch.global.torch.manual_seed;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntConsumer;
import org.affengine.data.Dataset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Trains a {@link TrainableNet} as a classifier (cross-entropy through a linear head on its descriptor) with SGD and
 * momentum, on shuffled mini-batches, deterministically for a seed. Returns the loss and accuracy curve.
 */
public final class Trainer {
    /** Loss and accuracy averaged over each stretch of {@code every} steps. */
    public record Point(int step, double loss, double accuracy) {}

    public record Config(int steps, int batch, double lr, double momentum, double weightDecay, long seed,
                         int every) {}

    private Trainer() {}

    public static List<Point> train(TrainableNet net, Dataset data, Config c, IntConsumer progress) {
        return train(net, TrainingInputs.images(data), c, progress);
    }

    /** As above, on any inputs the network takes (images, or a frozen backbone's feature maps). */
    public static List<Point> train(TrainableNet net, TrainingInputs data, Config c, IntConsumer progress) {
        manual_seed(c.seed());
        Module head = new Module();
        LinearImpl classifier = head.register_module("classifier", new LinearImpl(net.dim(), data.classes()));
        TensorVector params = net.parameters();
        TensorVector headParams = head.parameters();
        for (long i = 0; i < headParams.size(); i++) {
            params.push_back(headParams.get(i));
        }
        SGDOptions options = new SGDOptions(c.lr());
        options.momentum().put(c.momentum());
        options.weight_decay().put(c.weightDecay());
        SGD optimizer = new SGD(params, options);
        net.train(true);
        Random shuffle = new Random(c.seed());
        int[] order = shuffledOrder(data.size(), shuffle);
        int cursor = 0;
        List<Point> curve = new ArrayList<>();
        double lossSum = 0;
        double correct = 0;
        int seen = 0;
        for (int step = 1; step <= c.steps(); step++) {
            if (cursor + c.batch() > order.length) {
                order = shuffledOrder(data.size(), shuffle);
                cursor = 0;
            }
            int[] indices = java.util.Arrays.copyOfRange(order, cursor, cursor + c.batch());
            cursor += c.batch();
            // Every tensor of the step is freed when it ends, not when the Java GC gets round to it.
            try (PointerScope scope = new PointerScope()) {
                Tensor labels = data.labels(indices);
                optimizer.zero_grad();
                Tensor logits = classifier.forward(net.trainingDescriptor(data.inputs(indices)));
                Tensor loss = cross_entropy(logits, labels);
                loss.backward();
                optimizer.step();
                lossSum += loss.item_float();
                correct += logits.argmax(new org.bytedeco.pytorch.LongOptional(1), false).eq(labels).sum()
                        .item_float();
            }
            seen += indices.length;
            if (step % c.every() == 0 || step == c.steps()) {
                int n = step % c.every() == 0 ? c.every() : step % c.every();
                curve.add(new Point(step, lossSum / n, correct / seen));
                lossSum = 0;
                correct = 0;
                seen = 0;
            }
            progress.accept(1);
        }
        net.train(false);
        return curve;
    }

    private static int[] shuffledOrder(int n, Random random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
