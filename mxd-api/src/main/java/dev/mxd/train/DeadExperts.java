package dev.mxd.train;

import dev.mxd.Codes;

/**
 * Dead experts during training (DESIGN §2): an expert (or TC hidden unit) is dead when it has had no non-zero
 * code in the last {@code window} training tokens, as sparsify counts it; before {@code window} tokens have
 * been seen nothing is dead. Per code index the tracker keeps the number of tokens seen when it last fired,
 * a counter that a training checkpoint saves so that a resumed run reports the same numbers.
 */
public final class DeadExperts {
    /** sparsify's default window: 10 M tokens. */
    public static final long DEFAULT_WINDOW = 10_000_000L;

    private final long window;
    private final long[] lastFired;
    private long seen;

    /**
     * @param codeSpace N for an MxD, H for a TC or STC
     * @param window    tokens without a firing after which an index counts as dead; at least 1
     */
    public DeadExperts(int codeSpace, long window) {
        if (codeSpace < 1 || window < 1) {
            throw new IllegalArgumentException("dead-expert tracking needs codeSpace >= 1 and window >= 1 tokens, got "
                    + codeSpace + " and " + window);
        }
        this.window = window;
        this.lastFired = new long[codeSpace];
    }

    /** Records a batch of codes: every index with a non-zero value fired at the end of this batch. */
    public void update(Codes codes) {
        seen += codes.tokens();
        for (int r = 0; r < codes.tokens(); r++) {
            for (int j = 0; j < codes.width(); j++) {
                if (codes.value(r, j) != 0) {
                    lastFired[codes.index(r, j)] = seen;
                }
            }
        }
    }

    /** The number of dead indices now. */
    public int dead() {
        int d = 0;
        for (long f : lastFired) {
            if (seen - f >= window) {
                d++;
            }
        }
        return d;
    }

    /** The fraction of dead indices now. */
    public double deadFraction() {
        return (double) dead() / lastFired.length;
    }

    public long window() {
        return window;
    }

    /** Tokens seen so far. */
    public long tokensSeen() {
        return seen;
    }

    /** Per index, the tokens seen when it last fired (0: never); a copy, for checkpoints. */
    public long[] lastFired() {
        return lastFired.clone();
    }

    /**
     * Restores the state a checkpoint saved.
     *
     * @throws IllegalArgumentException when the array's length is not the code space or a value exceeds
     *                                  {@code tokensSeen}
     */
    public void restore(long tokensSeen, long[] fired) {
        if (fired.length != lastFired.length) {
            throw new IllegalArgumentException("dead-expert state has " + fired.length + " entries, expected "
                    + lastFired.length);
        }
        for (int n = 0; n < fired.length; n++) {
            if (fired[n] < 0 || fired[n] > tokensSeen) {
                throw new IllegalArgumentException("dead-expert state: index " + n + " last fired at token " + fired[n]
                        + ", outside [0, " + tokensSeen + "]");
            }
        }
        System.arraycopy(fired, 0, lastFired, 0, fired.length);
        seen = tokensSeen;
    }
}
