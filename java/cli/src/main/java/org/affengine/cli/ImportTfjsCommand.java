package org.affengine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.affengine.models.KerasGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "import-tfjs", mixinStandardHelpOptions = true, description = "Extract the ImageNet-pretrained "
        + "backbones that npm's nsfwjs embeds (tools/tfjs, installed by bin/env.sh), import them into LibTorch, save "
        + "them in the project's own form (later runs need no npm) and measure import time, sizes and CPU latency.")
final class ImportTfjsCommand implements Callable<Integer> {
    @Option(names = "--tools", defaultValue = "tools/tfjs", description = "The TF.js tools folder (default ${DEFAULT-VALUE}).")
    Path tools;

    @Option(names = "--out", defaultValue = "build/backbones", description = "Where the imported backbones go.")
    Path out;

    @Option(names = "--models", defaultValue = "mobilenet_v2,inception_v3", split = ",",
            description = "Which nsfwjs models (default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--runs", defaultValue = "10", description = "Timed runs per latency (median; default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--feature-layers", split = ",",
            defaultValue = "mobilenet_v2:block_13_expand_relu,inception_v3:mixed7",
            description = "model:layer feature maps to cost as well (the ones GeM uses on photos; default "
                    + "${DEFAULT-VALUE}).")
    List<String> featureLayers;

    @Override
    public Integer call() throws Exception {
        Path extracted = out.resolve("tfjs");
        List<String> cmd = new ArrayList<>(List.of("node", tools.resolve("extract.js").toString(), extracted.toString()));
        cmd.addAll(models);
        long t0 = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).inheritIO().start();
        } catch (java.io.IOException e) {
            System.err.println("cannot run node (Node.js; bin/env.sh installs it): " + e.getMessage());
            return 1;
        }
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            System.err.println("extraction did not finish in 10 minutes");
            return 1;
        }
        if (p.exitValue() != 0) {
            System.err.println("extraction failed: are the npm packages of " + tools + " installed (bin/env.sh runs "
                    + "npm ci there)?");
            return 1;
        }
        double extractS = (System.nanoTime() - t0) / 1e9;
        List<Map<String, Object>> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder("| backbone | input | weights | GMACs / image | TF.js file (uint8) | "
                + "saved (fp32) | extract s (all) | import s | load saved s | CPU ms / image, batch 1 | "
                + "CPU images/s, batch 8 |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        StringBuilder features = new StringBuilder("\n| feature map | shape | GMACs / image | CPU ms / image, batch 1 |\n"
                + "|---|---|---|---|\n");
        for (String model : models) {
            Path source = extracted.resolve(model);
            long i0 = System.nanoTime();
            KerasGraph g = KerasGraph.fromTfjs(source);
            double importS = (System.nanoTime() - i0) / 1e9;
            Path saved = out.resolve(model);
            g.save(saved, "npm nsfwjs@4.4.0 " + model);
            long l0 = System.nanoTime();
            KerasGraph back = KerasGraph.load(saved);
            double loadS = (System.nanoTime() - l0) / 1e9;
            long side = back.inputShape()[0];
            double single = latencyMs(back, 1, side, back.outputLayer());
            double batchMs = latencyMs(back, 8, side, back.outputLayer());
            long macs = back.macs(back.outputLayer());
            long tfjsBytes = Files.size(source.resolve("weights.bin")) + Files.size(source.resolve("model.json"));
            long savedBytes = Files.size(saved.resolve("weights.safetensors")) + Files.size(saved.resolve("model.json"));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("backbone", model);
            row.put("input", side + "x" + side + "x3");
            row.put("weights", back.weightCount());
            row.put("macs", macs);
            row.put("tfjs_bytes", tfjsBytes);
            row.put("saved_bytes", savedBytes);
            row.put("extract_s", extractS);
            row.put("import_s", importS);
            row.put("load_saved_s", loadS);
            row.put("cpu_ms_batch1", single);
            row.put("cpu_images_per_s_batch8", 8000 / batchMs);
            rows.add(row);
            table.append(String.format("| %s | %s | %.2fM | %.2f | %.1f MB | %.1f MB | %.1f | %.2f | %.2f | %.1f | %.1f |%n",
                    model, row.get("input"), back.weightCount() / 1e6, macs / 1e9, tfjsBytes / 1e6, savedBytes / 1e6,
                    extractS, importS, loadS, single, 8000 / batchMs));
            for (String spec : featureLayers) {
                String[] parts = spec.split(":", 2);
                if (parts.length != 2 || !parts[0].equals(model)) {
                    continue;
                }
                long featureMacs = back.macs(parts[1]);
                double ms = latencyMs(back, 1, side, parts[1]);
                long[] shape = back.outputShape(parts[1]);
                features.append(String.format("| %s %s | %dx%dx%d | %.2f | %.1f |%n", model, parts[1], shape[1],
                        shape[2], shape[3], featureMacs / 1e9, ms));
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("layer", parts[1]);
                f.put("macs", featureMacs);
                f.put("cpu_ms_batch1", ms);
                row.put("feature_" + parts[1], f);
            }
        }
        table.append(features);
        System.out.print(table);
        Files.writeString(out.resolve("backbones.md"), table.toString());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("backbones.json").toFile(), rows);
        System.out.println("saved under " + out + " (" + Runtime.getRuntime().availableProcessors() + " cores)");
        return 0;
    }

    /** Median milliseconds of one forward pass of `batch` random images to a layer, after two warm-ups. */
    private double latencyMs(KerasGraph g, int batch, long side, String layer) {
        Random r = new Random(1);
        float[] input = new float[(int) (batch * side * side * 3)];
        for (int i = 0; i < input.length; i++) {
            input[i] = r.nextFloat();
        }
        List<String> output = List.of(layer);
        g.run(input, batch, output);
        g.run(input, batch, output);
        double[] t = new double[Math.max(1, runs)];
        for (int i = 0; i < t.length; i++) {
            long s = System.nanoTime();
            g.run(input, batch, output);
            t[i] = (System.nanoTime() - s) / 1e6;
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }
}
