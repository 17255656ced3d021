package dev.mxd.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code ./mxd} command. Errors print one line ({@code mxd: ...}) and exit non-zero; {@code --verbose}
 * adds the stack trace.
 */
@Command(name = "mxd", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Mixture of Decoders (MxD) layers on the JVM.",
        subcommands = {ForwardCommand.class, EncodeCommand.class, DecodeCommand.class, InfoCommand.class, ConvertCommand.class, TrainCommand.class, EvalCommand.class,
                HarvestCommand.class, DemoCommand.class, StatsCommand.class, TopCommand.class, CodesCommand.class,
                ProbeCommand.class, SteerCommand.class,
                ExploreCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Held strongly: java.util.logging forgets the level of a logger nobody references. */
    private static final java.util.logging.Logger MXD_LOG = java.util.logging.Logger.getLogger("dev.mxd");

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required (forward, encode, decode, info, convert, train, eval, harvest, demo, stats, top, codes, probe, steer, explore, serve, help)");
    }

    public static void main(String[] args) {
        LauncherWatch.start(System.getenv(LauncherWatch.ENV));
        configureLogging(java.util.Arrays.asList(args).contains("--verbose"));
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit code: 0 success, 1 error, 2 usage error. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setOut(out).setErr(err);
        cli.setParameterExceptionHandler((ex, argv) -> {
            err.println("mxd: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            err.println("mxd: " + describe(ex));
            if (main.verbose) {
                ex.printStackTrace(err);
            }
            return 1;
        });
        return cli.execute(args);
    }

    /**
     * Library log records (the backend chosen, the device) as one {@code mxd: ...} line each, shown only with
     * {@code --verbose}: the commands print what they ran on themselves.
     */
    private static void configureLogging(boolean verbose) {
        System.setProperty("java.util.logging.SimpleFormatter.format", "mxd: %5$s%n");
        MXD_LOG.setLevel(verbose ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING);
    }

    /** One line a user can act on, whatever the exception. */
    static String describe(Throwable ex) {
        if (ex instanceof NoSuchFileException nsf) {
            return "no such file: " + nsf.getFile();
        }
        if (ex instanceof AccessDeniedException ade) {
            return "permission denied: " + ade.getFile();
        }
        String msg = ex.getMessage();
        if (msg == null || msg.isBlank()) {
            msg = ex.getClass().getSimpleName();
        }
        return msg.replace('\n', ' ');
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"mxd " + (v == null ? "(development build)" : v)
                    + " on Java " + Runtime.version() + " (" + System.getProperty("java.home") + ")"};
        }
    }
}
