package dev.mxd.text.minilm;

import dev.mxd.Backends;
import dev.mxd.DenseOps;
import dev.mxd.text.Europarl;
import java.util.ArrayList;
import java.util.List;

/**
 * A quick measurement, not a test: the time to load the model, and the Java forward's tokens/s on 128-token Europarl
 * sequences, one at a time and batched, against ONNX Runtime in the same JVM on the same sequences. Arguments:
 * [rounds (default 3)] [batch (default 16)]; the model runs on the backend {@code -Dmxd.backend} names. Run with {@code tools/run-test-main mxd-text dev.mxd.text.minilm.MiniLmThroughput ...}.
 */
public final class MiniLmThroughput {
    private MiniLmThroughput() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int ortThreads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        DenseOps ops = Backends.select().denseOps();
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            MiniLm.load(ops);
            System.out.printf("load %d: %.2f s (read resource, parse, pack)%n", i, (System.nanoTime() - t) / 1e9);
        }
        MiniLm model = MiniLm.load(ops);
        byte[] onnx = MiniLm.modelBytes();
        long t0 = System.nanoTime();
        OrtReference ort = new OrtReference(onnx, ortThreads);
        System.out.printf("ONNX Runtime session from the same bytes: %.2f s%n", (System.nanoTime() - t0) / 1e9);

        List<int[]> seqs = new ArrayList<>();
        try (MiniLmTokenizer tok = MiniLmTokenizer.load(MiniLmTokenizer.DEFAULT_MAX_TOKENS);
             var docs = Europarl.documents()) {
            docs.map(d -> tok.encode(d.text())).filter(ids -> ids.length == 128).limit(2L * batch).forEach(seqs::add);
        }
        int n = seqs.size();
        long tokens = (long) n * 128;
        for (int i = 0; i < 4; i++) {
            float[] ours = model.lastHiddenState(seqs.get(i), 0, null);
            float[] want = ort.lastHiddenState(List.of(seqs.get(i)));
            double maxOrt = 0, maxErr = 0;
            for (int j = 0; j < want.length; j++) {
                maxOrt = Math.max(maxOrt, Math.abs(want[j]));
                maxErr = Math.max(maxErr, Math.abs(ours[j] - want[j]));
            }
            System.out.printf("sequence %d: max|ours - ort| = %.3g, max|ort| = %.3g, ratio %.3g%n", i, maxErr, maxOrt,
                    maxErr / maxOrt);
        }
        // Calls alternate between the two (same sequence, then the next) so that both see the same machine load.
        for (int r = 0; r < rounds; r++) {
            long ours = 0, theirs = 0, oursBatched = 0, theirsBatched = 0;
            for (int[] s : seqs) {
                long t = System.nanoTime();
                model.lastHiddenState(s, 0, null);
                long u = System.nanoTime();
                ort.lastHiddenState(List.of(s));
                ours += u - t;
                theirs += System.nanoTime() - u;
            }
            for (int b = 0; b < n; b += batch) {
                List<int[]> slice = seqs.subList(b, Math.min(n, b + batch));
                long t = System.nanoTime();
                model.lastHiddenStates(slice, 0, null);
                long u = System.nanoTime();
                ort.lastHiddenState(slice);
                oursBatched += u - t;
                theirsBatched += System.nanoTime() - u;
            }
            System.out.printf("round %d, %d sequences of 128 tokens: ours %.0f tokens/s single, %.0f batched (%d);"
                    + " ONNX Runtime %.0f single, %.0f batched; ratios %.2f / %.2f%n", r, n, tokens * 1e9 / ours,
                    tokens * 1e9 / oursBatched, batch, tokens * 1e9 / theirs, tokens * 1e9 / theirsBatched,
                    (double) theirs / ours, (double) theirsBatched / oursBatched);
        }
        ort.close();
        ops.close();
    }
}
