package dev.mxd.text.experts;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.train.ActivationSource;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One streamed pass of a split of an activation directory through a layer's {@code encode}: the rows are read in
 * chunks of {@code batch} tokens, encoded (on the backend's threads), and each chunk's codes are handed to the
 * sinks in row order. Memory is the chunk's x rows and codes, whatever the split's length; nothing [T, N] exists.
 */
public final class ExpertPass {

    /** Receives the codes of consecutive rows. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param firstRow the split row of the chunk's token 0
         * @param codes    [rows of the chunk, K], valid during the call only
         */
        void accept(long firstRow, Codes codes);
    }

    private ExpertPass() {
    }

    /**
     * Encodes rows {@code 0 .. tokens−1} of {@code split} and feeds every sink.
     *
     * @param tokens rows to read: 0 for all, else at most the split's length
     * @param batch  tokens per encode call, ≥ 1
     * @return the rows read
     * @throws IllegalArgumentException when the data's widths are not the layer's, the split is empty,
     *                                  or batch &lt; 1
     */
    public static long run(MxdLayer layer, ActivationSource.Split split, int inputDim, int outputDim, long tokens,
                           int batch, List<? extends Sink> sinks) {
        MxdConfig cfg = layer.config();
        if (inputDim != cfg.inputDim() || outputDim != cfg.outputDim()) {
            throw new IllegalArgumentException("the data has x rows of " + inputDim + " and t rows of " + outputDim
                    + " values, but the model has d_in = " + cfg.inputDim() + " and d_out = " + cfg.outputDim());
        }
        if (batch < 1 || tokens < 0) {
            throw new IllegalArgumentException("batch must be >= 1 and tokens >= 0, got " + batch + " and " + tokens);
        }
        long total = tokens > 0 ? Math.min(tokens, split.tokens()) : split.tokens();
        if (total < 1) {
            throw new IllegalArgumentException("the split holds no tokens");
        }
        int chunk = (int) Math.min(batch, total);
        float[] x = new float[chunk * inputDim];
        float[] t = new float[chunk * outputDim];   // read alongside x by the split's contract, not used
        Codes full = Codes.onHeap(chunk, cfg.k());
        for (long row = 0; row < total; row += chunk) {
            int n = (int) Math.min(chunk, total - row);
            split.read(row, n, x, t, 0);
            Codes codes = n == chunk ? full : Codes.onHeap(n, cfg.k());
            layer.encode(MemorySegment.ofArray(x).asSlice(0, (long) n * inputDim * Float.BYTES), n, codes);
            for (Sink s : sinks) {
                s.accept(row, codes);
            }
        }
        return total;
    }
}
