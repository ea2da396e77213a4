package org.affengine.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.affengine.eval.DebianPhotos;
import org.affengine.eval.InstanceBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "make-instances", mixinStandardHelpOptions = true, description = "Build the instance-level "
        + "benchmark from real photos (revisitop layout: jpg/ + gnd_instances.pkl/.json + README.md). Without "
        + "--sources the photos come from Debian packages, fetched into --cache.")
final class MakeInstancesCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;

    @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sources", description = "A folder of photos to use instead of the Debian ones.")
    Path sources;

    @Option(names = "--cache", defaultValue = "build/photos", description = "Where Debian packages are unpacked.")
    Path cache;

    @Option(names = "--size", defaultValue = "512", description = "Long side of each view in pixels.")
    int size;

    @Option(names = "--easy", defaultValue = "3", description = "Easy views per instance.")
    int easy;

    @Option(names = "--hard", defaultValue = "3", description = "Hard views per instance.")
    int hard;

    @Option(names = "--junk", defaultValue = "2", description = "Junk views per instance.")
    int junk;

    @Option(names = "--distractor-views", defaultValue = "4", description = "Views per distractor photo.")
    int distractorViews;

    @Override
    public Integer call() throws Exception {
        if (size < 32 || easy < 0 || hard < 0 || junk < 0 || distractorViews < 0) {
            throw new IllegalArgumentException("--size must be >= 32 and view counts >= 0");
        }
        Path photos = sources != null ? sources : DebianPhotos.fetch(cache);
        InstanceBenchmark.Summary s = InstanceBenchmark.build(photos, out,
                new InstanceBenchmark.Config(seed, easy, hard, junk, distractorViews, size),
                sources != null ? List.of() : DebianPhotos.PAIRS, sources != null ? List.of()
                        : DebianPhotos.distractors(photos));
        System.out.printf("wrote %d gallery images and %d queries (%d instances, %d pairs; easy/hard/junk "
                + "positives %d/%d/%d) to %s%n", s.galleryImages(), s.queries(), s.instances(), s.pairs(), s.easy(),
                s.hard(), s.junk(), out);
        return 0;
    }
}
