package org.affengine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.affengine.eval.TrainingStamps;
import org.affengine.train.PhotoExperiment;
import org.affengine.train.PhotoReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "photo-experiment", mixinStandardHelpOptions = true, description = "The AFF experiment on "
        + "photographs: trains on augmented views of the Tux Paint stamps (fetched with apt-get download when "
        + "missing), with the ImageNet backbones imported from TF.js as gallery models and a MobileNetV2-initialised "
        + "query model (frozen trunk, optionally fine-tuned last layers, new head), and scores every setting on the "
        + "instance benchmark. Writes table.md, results.json and map.png.")
final class PhotoExperimentCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "A few minutes: 100 stamps x 2 views, 120 steps, smaller widths.")
    boolean quick;

    @Option(names = "--out", description = "Results and feature stores (default build/photo-experiment, or "
            + "build/photo-experiment-quick).")
    Path out;

    @Option(names = "--benchmark", defaultValue = "build/instances", description = "The instance benchmark "
            + "(default ${DEFAULT-VALUE}; built with seed 1 when missing).")
    Path benchmark;

    @Option(names = "--backbones", defaultValue = "build/backbones", description = "The imported backbones "
            + "(default ${DEFAULT-VALUE}; imported when missing).")
    Path backbones;

    @Option(names = "--stamps", defaultValue = "build/stamps", description = "Cache of the training stamps "
            + "(default ${DEFAULT-VALUE}).")
    Path stamps;

    @Option(names = "--steps", description = "Optimiser steps per setting (default 1000; quick 120).")
    Integer steps;

    @Option(names = "--instances", description = "Training stamps (default every one; quick 100).")
    Integer instances;

    @Option(names = "--trunk-cut", description = "MobileNetV2 layer up to which the query model stays frozen; the "
            + "layers after it, up to block_13_expand_relu, are fine-tuned jointly (default block_13_expand_relu: the "
            + "whole trunk frozen; block_11_add tunes block 12 and block_13_expand).")
    String trunkCut;

    @Option(names = "--tuned-step", description = "How fast the fine-tuned MobileNetV2 layers move relative to new "
            + "layers (default 0.1).")
    Double tunedStep;

    @Option(names = "--local-pool-every", description = "Every N-th stamp trains only the learned local model, a pool "
            + "disjoint from the one the mixer and the query model train on (default 0: one pool for both).")
    Integer localPoolEvery;

    @Option(names = "--local-dropout", description = "Probability that a training step hides an image's local set "
            + "from a fusing encoder (default 0.5; 0: as the paper trains).")
    Double localDropout;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--parallel", description = "Settings trained at once (default: the cores, ${DEFAULT-VALUE}).",
            defaultValue = "${sys:aff.cores}")
    int parallel;

    @Override
    public Integer call() throws Exception {
        org.bytedeco.pytorch.global.torch.set_num_threads(1);
        Path work = out != null ? out : Path.of(quick ? "build/photo-experiment-quick" : "build/photo-experiment");
        PhotoExperiment.Settings d = quick ? PhotoExperiment.Settings.quick() : PhotoExperiment.Settings.defaults();
        PhotoExperiment.Settings s = new PhotoExperiment.Settings(instances != null ? instances : d.instances(),
                d.views(), steps != null ? steps : d.steps(), d.batch(), d.lr(), d.weightDecay(), d.alpha(), d.dim(),
                d.layers(), d.heads(), d.ffn(), d.mlpWidth(), d.scale(), d.margin(), d.whitenDim(), d.headWidth(),
                d.maxLocal(), d.attentionHidden(), d.attentionDim(), d.attentionKeep(), d.attentionSteps(),
                localPoolEvery != null ? localPoolEvery : d.localPoolEvery(),
                localDropout != null ? localDropout : d.localDropout(), seed,
                trunkCut != null ? trunkCut : d.trunkCut(),
                tunedStep != null ? tunedStep : d.tunedStep());
        if (!Files.exists(benchmark.resolve("gnd_instances.pkl"))) {
            if (new picocli.CommandLine(new MakeInstancesCommand()).execute("--out", benchmark.toString(), "--seed",
                    "1") != 0) {
                throw new IllegalStateException("could not build the instance benchmark in " + benchmark);
            }
        }
        if (!Files.exists(backbones.resolve("inception_v3/model.json"))) {
            if (new picocli.CommandLine(new ImportTfjsCommand()).execute("--out", backbones.toString()) != 0) {
                throw new IllegalStateException("could not import the backbones into " + backbones);
            }
        }
        List<Path> pool = TrainingStamps.fetch(stamps);
        Files.createDirectories(work);
        PhotoExperiment.Result r = PhotoExperiment.run(pool, benchmark, backbones, work, s, new TrainingBars(),
                parallel);
        PhotoReport.write(r, work);
        System.out.print(PhotoReport.markdown(r));
        System.out.printf(Locale.ROOT, "%nwrote %s (table.md, results.json, map.png) in %s%n", work,
                ProgressBar.time(r.seconds()));
        return 0;
    }
}
