package org.affengine.cli;

import java.util.Locale;
import org.affengine.train.AffExperiment;
import org.affengine.train.AffTrainer;

/** One progress bar per training run, showing the latest losses and training accuracies. */
final class TrainingBars implements AffExperiment.Monitor {
    @Override
    public Task start(String label, int steps) {
        ProgressBar bar = new ProgressBar("train " + label, steps, "step");
        return new Task() {
            @Override
            public void step() {
                bar.advance(1);
            }

            @Override
            public void point(AffTrainer.Point p) {
                bar.status(String.format(Locale.ROOT, "| gallery loss %s acc %s | query loss %s acc %s",
                        num(p.mixerLoss()), num(p.mixerAccuracy()), num(p.queryLoss()), num(p.queryAccuracy())));
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }
}
