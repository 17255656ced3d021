package dev.mxd.train;

/**
 * Training data: pairs (x, t) of an MLP's input and output activations, split into a training and a held-out
 * evaluation set (DESIGN §2, §4). Implementations: {@link ActivationDirectory} (the {@code DIR/train},
 * {@code DIR/eval} safetensors shards, memory-mapped) and {@link #inMemory} (arrays).
 *
 * <p>A source only offers random access to rows; the order in which training reads them (a seeded shuffle
 * that never needs the whole split in memory) is {@link ShuffledBatches}'s.
 *
 * <p>Ownership: the caller closes the source; a directory source unmaps its shards then.
 */
public interface ActivationSource extends AutoCloseable {

    /** I, the width of an x row. */
    int inputDim();

    /** O, the width of a t row. */
    int outputDim();

    /** The training split. */
    Split train();

    /** The held-out split; may be empty (zero tokens). */
    Split eval();

    @Override
    void close();

    /** One split: rows 0 .. tokens−1, each an x row [I] and a t row [O]. */
    interface Split {
        /** The number of rows (tokens). */
        long tokens();

        /**
         * Copies rows {@code row .. row+count−1} as float32 into x [.., I] from row {@code at} and t [.., O] from
         * row {@code at}, row-major.
         *
         * @throws IndexOutOfBoundsException for rows outside the split or arrays too small
         */
        void read(long row, int count, float[] x, float[] t, int at);

        /** Where a row comes from, for error messages (e.g. {@code "DIR/train/00001.safetensors row 17"}). */
        String describe(long row);
    }

    /**
     * Pairs held in arrays (not copied: the caller must not change them while training runs).
     *
     * @param trainX [T_train, I] row-major
     * @param trainT [T_train, O] row-major
     * @param evalX  [T_eval, I] row-major (may be empty)
     * @param evalT  [T_eval, O] row-major (may be empty)
     * @throws IllegalArgumentException when lengths are not whole rows or x and t disagree on the token count
     */
    static ActivationSource inMemory(int inputDim, int outputDim, float[] trainX, float[] trainT, float[] evalX,
                                     float[] evalT) {
        Split train = new ArraySplit("train", inputDim, outputDim, trainX, trainT);
        Split eval = new ArraySplit("eval", inputDim, outputDim, evalX, evalT);
        return new InMemorySource(inputDim, outputDim, train, eval);
    }
}
