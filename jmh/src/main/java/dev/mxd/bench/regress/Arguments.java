package dev.mxd.bench.regress;

import java.nio.file.Path;

/**
 * The parsed command line of {@link RegressMain}; {@link #parse} checks that the options fit together.
 *
 * @param suite        the suite to run ({@code --quick}, {@code --full}), null with {@code --input} or for a plot
 * @param input        a saved run to compare instead of running ({@code --input}), or null
 * @param saveBaseline where to write the run ({@code --save-baseline}), or null
 * @param compare      the baseline to compare with ({@code --compare}), or null
 * @param threshold    the relative change that matters ({@code --threshold}, default 0.10)
 * @param history      the history file ({@code --history}), or null for the default
 * @param noHistory    {@code --no-history}: the run is not appended
 * @param plot         the PNG of {@code history --plot}, or null when this is no plot
 */
record Arguments(Suite suite, Path input, Path saveBaseline, Path compare, double threshold, Path history,
        boolean noHistory, Path plot) {

    static final double DEFAULT_THRESHOLD = 0.10;

    /** @throws BadInputException naming the argument that is wrong or missing */
    static Arguments parse(String[] args) {
        Suite suite = null;
        Path input = null;
        Path save = null;
        Path compare = null;
        double threshold = DEFAULT_THRESHOLD;
        Path history = null;
        boolean noHistory = false;
        Path plot = null;
        boolean historyCommand = args.length > 0 && args[0].equals("history");
        for (int i = historyCommand ? 1 : 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--quick", "--full" -> {
                    if (suite != null) {
                        throw new BadInputException("give one of --quick and --full");
                    }
                    suite = arg.equals("--quick") ? Suite.QUICK : Suite.FULL;
                }
                case "--input" -> input = Path.of(value(args, ++i, arg));
                case "--save-baseline" -> save = Path.of(value(args, ++i, arg));
                case "--compare" -> compare = Path.of(value(args, ++i, arg));
                case "--threshold" -> threshold = threshold(value(args, ++i, arg));
                case "--history" -> history = Path.of(value(args, ++i, arg));
                case "--no-history" -> noHistory = true;
                case "--plot" -> plot = Path.of(value(args, ++i, arg));
                default -> throw new BadInputException("unknown argument '" + arg + "'");
            }
        }
        if (historyCommand) {
            if (plot == null || suite != null || input != null || save != null || compare != null || noHistory) {
                throw new BadInputException("history takes --plot FILE.png and optionally --history FILE");
            }
        } else if (plot != null) {
            throw new BadInputException("--plot belongs to the history command: ./mxd bench history --plot FILE.png");
        } else if (input != null) {
            if (suite != null || save != null || compare == null) {
                throw new BadInputException("--input RUN.json compares a saved run: give --compare FILE and no"
                        + " --quick, --full or --save-baseline");
            }
        } else if (suite == null) {
            throw new BadInputException("give --quick or --full (or --input RUN.json to compare a saved run)");
        }
        return new Arguments(suite, input, save, compare, threshold, history, noHistory, plot);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new BadInputException(option + " needs a value");
        }
        return args[i];
    }

    private static double threshold(String s) {
        double t;
        try {
            t = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new BadInputException("--threshold takes a fraction such as 0.10, not '" + s + "'");
        }
        if (!(t > 0 && t < 1)) {
            throw new BadInputException("--threshold takes a fraction in (0, 1) such as 0.10 for 10 %, not " + s);
        }
        return t;
    }
}
