package example.consumer;

import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.oracle.Agreement;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * mxd used as a library: loads an MxD, runs a forward pass on the backend that {@code -Dmxd.backend} chooses
 * (cpu, opencl, reference or auto), steers one expert, and checks both against the float64 oracle that ships
 * in {@code mxd-api}. Prints what it did; exits 1 on any mismatch.
 *
 * <p>Steering: {@code encode} gives each token's K (expert, value) codes; adding a pair (n, v) for an expert n
 * outside a token's top K and calling {@code decode} adds {@code v · C[n] ⊙ (z · W_dec)} to that token's
 * output, where z is the token's hidden code and C[n] the expert's row of {@code W_condᵀ}. Other tokens do
 * not move.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
 * [-Dmxd.backend=NAME] -cp ... example.consumer.SteerOneExpert MODEL_DIR}
 */
public final class SteerOneExpert {
    private static final int TOKENS = 3;

    private SteerOneExpert() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: SteerOneExpert MODEL_DIR (a directory with mxd.safetensors and cfg.json)");
            System.exit(2);
        }
        try {
            run(Path.of(args[0]));
        } catch (AssertionError e) {
            System.err.println("consumer: MISMATCH: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void run(Path dir) throws IOException {
        try (MxdModel model = ModelFiles.load(dir);
             MxdLayer layer = Backends.select().load(model)) {   // the layer closes first: it may read the model
            MxdConfig c = model.config();
            if (c.kind() != Kind.MXD) {
                throw new IllegalArgumentException(dir + " holds a " + c.kind() + "; this example steers an MxD");
            }
            System.out.printf("loaded %s: MxD I=%d H=%d N=%d O=%d K=%d, backend %s%n", dir, c.inputDim(),
                    c.hiddenDim(), c.experts(), c.outputDim(), c.k(), layer.backendName());
            float[] x = new float[TOKENS * c.inputDim()];
            SplittableRandom random = new SplittableRandom(7);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            OracleMxd oracle = new OracleMxd(model);

            MxdLayer.Output out = layer.forward(x);
            Agreement.requireCodesAgree("codes of the forward", out.codes(), Agreement.scores(oracle, x, TOKENS), c.k());
            Agreement.requireClose("y of the forward", out.y(),
                    oracle.decode(x, TOKENS, OracleMxd.Codes64.of(out.codes())), c.outputDim());
            System.out.printf("forward of %d tokens agrees with the float64 oracle; token 0's experts %s%n", TOKENS,
                    Arrays.toString(experts(out.codes(), 0)));

            steer(model, layer, oracle, x, layer.encode(x));
        }
    }

    /** Adds one expert outside token 0's top K to its codes, decodes, and checks how far y moved. */
    private static void steer(MxdModel model, MxdLayer layer, OracleMxd oracle, float[] x, Codes codes) {
        MxdConfig c = model.config();
        int k = c.k();
        int[] fired = experts(codes, 0);
        int expert = 0;
        while (contains(fired, expert)) {
            expert++;
        }
        if (expert == c.experts()) {
            throw new IllegalArgumentException("K = N: every expert is in token 0's top K, none is left to steer");
        }
        float value = 1 + codes.value(0, 0);   // stronger than any expert that fired
        Codes steered = Codes.onHeap(TOKENS, k + 1);
        for (int t = 0; t < TOKENS; t++) {
            for (int j = 0; j < k; j++) {
                steered.set(t, j, codes.index(t, j), codes.value(t, j));
            }
            steered.set(t, k, t == 0 ? expert : 0, t == 0 ? value : 0f);   // value 0 pads: it adds nothing
        }
        float[] before = layer.decode(x, codes);
        float[] after = layer.decode(x, steered);

        int o = c.outputDim();
        double[] expected = new double[TOKENS * o];   // v · C[n] ⊙ (z · W_dec) on token 0, nothing elsewhere
        double[] z = oracle.hiddenCode(x, 0);
        Tensor wDec = model.tensor("W_dec");     // [H, O]
        Tensor wCond = model.tensor("W_cond");   // [O, N]: C = W_condᵀ
        for (int col = 0; col < o; col++) {
            double zw = 0;
            for (int h = 0; h < z.length; h++) {
                zw += z[h] * wDec.data().getAtIndex(Tensor.F32_LE, (long) h * o + col);
            }
            expected[col] = value * wCond.data().getAtIndex(Tensor.F32_LE, (long) col * c.experts() + expert) * zw;
        }
        double error = requireMove(before, after, expected, o);
        System.out.printf("steered token 0 with expert %d (value %.4f): y moved by v·c_%d ⊙ (z·W_dec), largest"
                        + " change %.4g, largest error %.2g; tokens 1..%d did not move%n", expert, value, expert,
                maxAbs(expected), error, TOKENS - 1);
    }

    /**
     * Checks {@code after − before} against {@code expected} element by element, within the sum of the two
     * outputs' tolerances of the numerics contract ({@link Agreement#RTOL}, {@link Agreement#ATOL_SCALE}).
     *
     * @return the largest error
     */
    private static double requireMove(float[] before, float[] after, double[] expected, int width) {
        double scale = Math.max(maxAbs(before), maxAbs(after));
        if (maxAbs(expected) < 1e3 * Agreement.ATOL_SCALE * scale) {
            throw new AssertionError("the steer moves y by at most " + maxAbs(expected)
                    + ", too little to tell from rounding: use another model");
        }
        double largest = 0;
        for (int e = 0; e < expected.length; e++) {
            double moved = (double) after[e] - before[e];
            double err = Math.abs(moved - expected[e]);
            double allowed = 2 * Agreement.ATOL_SCALE * scale + Agreement.RTOL * (Math.abs(before[e]) + Math.abs(after[e]));
            if (!(err <= allowed)) {
                throw new AssertionError("y[" + e / width + ", " + e % width + "] moved by " + moved + ", expected "
                        + expected[e] + " (|error| " + err + " > " + allowed + ")");
            }
            largest = Math.max(largest, err);
        }
        return largest;
    }

    private static int[] experts(Codes codes, int token) {
        int[] e = new int[codes.width()];
        for (int j = 0; j < e.length; j++) {
            e[j] = codes.index(token, j);
        }
        return e;
    }

    private static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(e -> e == v);
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static double maxAbs(double[] a) {
        return Arrays.stream(a).map(Math::abs).max().orElse(0);
    }
}
