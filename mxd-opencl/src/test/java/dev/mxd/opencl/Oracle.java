package dev.mxd.opencl;

import dev.mxd.Codes;
import dev.mxd.oracle.Agreement;
import dev.mxd.oracle.OracleMxd;
import java.util.SplittableRandom;

/** Inputs for the OpenCL tests, and the oracle comparisons of {@link Agreement}. */
final class Oracle {
    private Oracle() {
    }

    /** T·width floats uniform in [-1, 1). */
    static float[] inputs(int tokens, int width, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[tokens * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        return x;
    }

    /** DESIGN §6 tolerances: see {@link Agreement#requireClose}. */
    static void assertClose(String what, double[] expected, float[] actual, int rowWidth) {
        Agreement.requireClose(what, actual, expected, rowWidth);
    }

    /** The codes against the oracle's scores by the near-tie rule: see {@link Agreement#requireCodesAgree}. */
    static void assertCodes(String what, OracleMxd oracle, float[] x, int tokens, Codes codes) {
        Agreement.requireCodesAgree(what, codes, Agreement.scores(oracle, x, tokens), oracle.config().k());
    }
}
