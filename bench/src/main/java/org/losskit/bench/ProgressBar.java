package org.losskit.bench;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr: {@code [#########...........]  45% 9/20 cross-entropy cpu 8x32000}. On a
 * terminal the line is redrawn in place; when stderr is not a terminal (CI logs) a plain line is printed at every
 * tenth of the way, so logs stay short.
 */
final class ProgressBar {
    private static final int WIDTH = 30;
    private static final int MAX_LABEL = 60;

    private final PrintStream out;
    private final boolean interactive;
    private final int total;
    private int done;
    private int lastTenth = -1;

    ProgressBar(PrintStream out, boolean interactive, int total) {
        this.out = out;
        this.interactive = interactive;
        this.total = Math.max(total, 1);
    }

    /** A bar on stderr, redrawn in place when a console is attached. */
    static ProgressBar onStderr(int total) {
        return new ProgressBar(System.err, System.console() != null, total);
    }

    /** Marks {@code steps} more steps done; {@code label} says what is running now. */
    void advance(int steps, String label) {
        done = Math.min(total, done + steps);
        int percent = (int) (100L * done / total);
        String shortLabel = label.length() > MAX_LABEL ? label.substring(0, MAX_LABEL - 3) + "..." : label;
        int filled = WIDTH * done / total;
        String line = "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + String.format("%3d%% %d/%d ", percent, done, total) + shortLabel;
        if (interactive) {
            out.print("\r" + line + " ".repeat(Math.max(0, MAX_LABEL - shortLabel.length())));
            out.flush();
        } else if (percent / 10 != lastTenth) {
            lastTenth = percent / 10;
            out.println(line);
        }
    }

    /** Ends the bar's line so later output starts on a fresh one. */
    void finish() {
        if (interactive) {
            out.println();
            out.flush();
        }
    }
}
