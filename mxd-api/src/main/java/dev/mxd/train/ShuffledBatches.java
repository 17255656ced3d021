package dev.mxd.train;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Training batches in a seeded shuffle of a split that never needs more than a window of it in memory, so a
 * split larger than RAM streams from memory-mapped shards with sequential reads.
 *
 * <p>The order is a pure function of (seed, position): rows are grouped into blocks of {@code blockTokens}
 * consecutive rows; each epoch permutes the blocks (Fisher–Yates, a {@link SplittableRandom} of the seed and
 * the epoch), takes them {@code windowBlocks} at a time, and permutes the rows of each window (a random of the
 * seed, epoch and window). Batches take consecutive rows of that order and run on into the next epoch. A
 * split no larger than one window is thus fully shuffled each epoch. There is no other state: resuming at a
 * position (tokens read since the start) continues exactly where an uninterrupted run would be.
 */
public final class ShuffledBatches {
    private final ActivationSource.Split split;
    private final long seed;
    private final int blockTokens;
    private final int windowBlocks;
    private final int in, out;
    private final boolean shuffle;
    private long position;

    // the current window: its rows, gathered, and the order to emit them in
    private long windowEpoch = -1;
    private long windowStart;          // position-in-epoch of the window's first row
    private int windowSize;
    private float[] wx, wt;
    private long[] wRows;
    private int[] wOrder;
    private int[] blockOrder;
    private long[] windowStarts;       // position-in-epoch where each window of the epoch starts, and the end
    private long blockOrderEpoch = -1;

    /** A batch: {@code tokens} rows, x [tokens, I] and t [tokens, O] row-major, and where each row came from. */
    public record Batch(int tokens, float[] x, float[] t, long[] rows) {
    }

    /**
     * @param split        the rows; at least one
     * @param seed         the shuffle's seed
     * @param position     tokens already read (0 to start; a checkpoint's data position to resume)
     * @param blockTokens  rows per block, the unit of sequential reads
     * @param windowBlocks blocks per window, the unit held in memory
     * @param shuffle      false to read the split in order (row 0, 1, ...; to reproduce a run made elsewhere)
     * @throws IllegalArgumentException for an empty split or non-positive sizes
     */
    public ShuffledBatches(ActivationSource.Split split, int inputDim, int outputDim, long seed, long position,
                           int blockTokens, int windowBlocks, boolean shuffle) {
        if (split.tokens() < 1) {
            throw new IllegalArgumentException("the training split is empty: no tokens to train on");
        }
        if (blockTokens < 1 || windowBlocks < 1 || position < 0) {
            throw new IllegalArgumentException("shuffle needs blockTokens >= 1, windowBlocks >= 1 and position >= 0, got "
                    + blockTokens + ", " + windowBlocks + ", " + position);
        }
        this.split = split;
        this.in = inputDim;
        this.out = outputDim;
        this.seed = seed;
        this.position = position;
        this.blockTokens = blockTokens;
        this.windowBlocks = windowBlocks;
        this.shuffle = shuffle;
    }

    /** Tokens read since the start (the data position a checkpoint saves). */
    public long position() {
        return position;
    }

    /** The next {@code tokens} rows. */
    public Batch next(int tokens) {
        float[] x = new float[tokens * in];
        float[] t = new float[tokens * out];
        long[] rows = new long[tokens];
        long total = split.tokens();
        for (int r = 0; r < tokens; r++) {
            long epoch = position / total;
            long inEpoch = position % total;
            if (epoch != windowEpoch || inEpoch < windowStart || inEpoch >= windowStart + windowSize) {
                loadWindow(epoch, inEpoch);
            }
            int w = wOrder[(int) (inEpoch - windowStart)];
            System.arraycopy(wx, w * in, x, r * in, in);
            System.arraycopy(wt, w * out, t, r * out, out);
            rows[r] = wRows[w];
            position++;
        }
        return new Batch(tokens, x, t, rows);
    }

    private void loadWindow(long epoch, long inEpoch) {
        long total = split.tokens();
        int blocks = Math.toIntExact((total + blockTokens - 1) / blockTokens);
        if (blockOrderEpoch != epoch) {
            blockOrder = permutation(blocks, new SplittableRandom(mix(seed, epoch, -1)));
            blockOrderEpoch = epoch;
            int windows = (blocks + windowBlocks - 1) / windowBlocks;
            windowStarts = new long[windows + 1];
            for (int w = 0; w < windows; w++) {
                long size = 0;
                for (int j = w * windowBlocks; j < Math.min((w + 1) * windowBlocks, blocks); j++) {
                    size += blockLength(blockOrder[j], total);
                }
                windowStarts[w + 1] = windowStarts[w] + size;
            }
        }
        int i = Arrays.binarySearch(windowStarts, inEpoch);
        int window = i >= 0 ? i : -i - 2;
        windowEpoch = epoch;
        windowStart = windowStarts[window];
        gather(window * windowBlocks, Math.toIntExact(windowStarts[window + 1] - windowStart), total);
        wOrder = permutation(windowSize, new SplittableRandom(mix(seed, epoch, window)));
    }

    private void gather(int firstBlock, int size, long total) {
        if (wx == null || wx.length < size * in) {
            wx = new float[size * in];
            wt = new float[size * out];
            wRows = new long[size];
        }
        int at = 0;
        int blocks = blockOrder.length;
        for (int j = firstBlock; j < Math.min(firstBlock + windowBlocks, blocks); j++) {
            long first = (long) blockOrder[j] * blockTokens;
            int len = blockLength(blockOrder[j], total);
            split.read(first, len, wx, wt, at);
            for (int r = 0; r < len; r++) {
                wRows[at + r] = first + r;
            }
            at += len;
        }
        windowSize = size;
    }

    private int blockLength(int block, long total) {
        return (int) Math.min(blockTokens, total - (long) block * blockTokens);
    }

    private int[] permutation(int n, SplittableRandom rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = shuffle ? n - 1 : 0; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int s = p[i];
            p[i] = p[j];
            p[j] = s;
        }
        return p;
    }

    /** A seed for one (epoch, window) of a run; SplittableRandom's own mixing spreads nearby values. */
    private static long mix(long seed, long epoch, long window) {
        long h = seed;
        h = h * 0x9E3779B97F4A7C15L + epoch;
        h = h * 0xBF58476D1CE4E5B9L + window;
        return h ^ (h >>> 31);
    }
}
