package org.affengine.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code aff} command line. Every failure prints one line ({@code aff: error: ...}) and exits non-zero:
 * 1 for bad input or files, 2 for bad usage.
 */
@Command(name = "aff", mixinStandardHelpOptions = true, version = "aff 0.1.0",
        description = "AFF engine: build, search and evaluate vector indexes and retrieval results.",
        subcommands = {InfoCommand.class, GenerateCommand.class, BuildCommand.class, SearchCommand.class,
            GroundTruthCommand.class, RecallCommand.class, EvalCommand.class, MakeInstancesCommand.class,
            ExtractCommand.class, ExperimentCommand.class, ServeCommand.class, ImportTfjsCommand.class,
            PhotoExperimentCommand.class})
public final class AffCli {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI in-process and returns its exit code (used by main and by the tests). */
    public static int run(String... args) {
        System.setProperty("aff.cores", String.valueOf(Runtime.getRuntime().availableProcessors()));
        CommandLine cli = new CommandLine(new AffCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            err.println("aff: error: " + message.lines().findFirst().orElse(message));
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }
}
