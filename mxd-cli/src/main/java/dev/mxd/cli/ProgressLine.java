package dev.mxd.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A live progress line: rewritten in place on a terminal (at most five times a second), else printed as a line
 * at most once every ten seconds, and always at the first and the last update.
 */
final class ProgressLine {
    private final PrintWriter out;
    private final boolean terminal = System.console() != null;
    private long lastPrinted;
    private boolean shown;

    ProgressLine(PrintWriter out) {
        this.out = out;
    }

    /** Shows {@code line} if it is due; {@code last} ends the line on a terminal. */
    void update(String line, boolean last) {
        long now = System.nanoTime();
        if (!last && shown && now - lastPrinted < (terminal ? 200_000_000L : 10_000_000_000L)) {
            return;
        }
        lastPrinted = now;
        shown = true;
        if (terminal) {
            out.print("\r" + line + "\u001b[K" + (last ? "\n" : ""));
            out.flush();
        } else {
            out.println(line);
        }
    }

    /** Prints a line of its own, clearing a progress line under way on a terminal. */
    void interject(String line) {
        out.println((terminal ? "\r\u001b[K" : "") + line);
    }

    /** Whether output goes to a terminal (progress is then rewritten in place). */
    boolean terminal() {
        return terminal;
    }

    /** {@code h:mm:ss}. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
