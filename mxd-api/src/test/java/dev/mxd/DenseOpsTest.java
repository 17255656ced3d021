package dev.mxd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.oracle.OracleDenseOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The checks every backend's {@link DenseOps} gets from the base class, and the oracle's values on cases by hand. */
class DenseOpsTest {

    @Test
    void theOracleComputesTheDefinitions() {
        try (DenseOps ops = Backends.select("reference").denseOps()) {
            assertEquals("reference", ops.backendName());
            // [1, 2; -3, 4] · [1, 0, 2; 0, 1, -1] + [0.5, 0, 0], then relu
            DenseOps.Dense d = ops.dense("d", new float[] {1, 0, 2, 0, 1, -1}, 2, 3, new float[] {0.5f, 0, 0},
                    Activation.RELU);
            float[] y = new float[6];
            d.apply(2, new float[] {1, 2, -3, 4}, y);
            assertArrayEquals(new float[] {1.5f, 2, 0, 0, 4, 0}, y);

            // one key: the context is its value; two equal keys: the mean of the values
            float[] context = new float[1];
            ops.selfAttention(new float[] {3, 5, 7}, new int[] {0, 1}, 1, 1, 1f, context);
            assertArrayEquals(new float[] {7}, context);
            float[] qkv = {1, 2, 10, 1, 2, 20};
            context = new float[2];
            ops.selfAttention(qkv, new int[] {0, 2}, 1, 1, 1f, context);
            assertArrayEquals(new float[] {15, 15}, context);
            // scores 0 and 2·1/2 = 1 for the second query: weights 1/(1+e), e/(1+e)
            qkv = new float[] {0, 0, 10, 2, 1, 20};
            ops.selfAttention(qkv, new int[] {0, 2}, 1, 1, 2f, context);
            double e = Math.E;
            assertArrayEquals(new float[] {15, (float) ((10 + 20 * e) / (1 + e))}, context, 1e-5f);
        }
    }

    @Test
    void badArgumentsAreNamed() {
        try (DenseOps ops = new OracleDenseOps()) {
            named(() -> ops.dense("qkv", new float[5], 2, 3, null, null), "qkv: weight has 5 values, expected [2, 3]");
            named(() -> ops.dense("qkv", new float[6], 2, 3, new float[2], null), "qkv: bias has 2 values, expected [3]");
            named(() -> ops.dense("qkv", new float[0], 0, 3, null, null), "qkv: sizes must be >= 1");
            DenseOps.Dense d = ops.dense("out", new float[6], 2, 3, null, null);
            named(() -> d.apply(2, new float[3], new float[6]), "out: x [2, 2] and y [2, 3] need 4 and 6 values");
            named(() -> d.apply(-1, new float[4], new float[6]), "out: rows must be >= 0");
            float[] same = new float[6];
            named(() -> d.apply(1, same, same), "out: x and y must be different arrays");
            d.apply(0, new float[0], new float[0]);

            float[] qkv = new float[3 * 4 * 6];
            named(() -> ops.selfAttention(qkv, new int[] {1, 4}, 2, 2, 1f, new float[16]), "starts must begin with 0");
            named(() -> ops.selfAttention(qkv, new int[] {0, 3, 2}, 2, 2, 1f, new float[16]),
                    "starts must not decrease: starts[2] = 2 < starts[1] = 3");
            named(() -> ops.selfAttention(qkv, new int[] {0, 7}, 2, 2, 1f, new float[28]),
                    "qkv [7, 12] and context [7, 4] need 84 and 28 values, got 72 and 28");
            named(() -> ops.selfAttention(qkv, new int[] {0, 6}, 0, 2, 1f, new float[24]), "heads and d must be >= 1");
            named(() -> ops.selfAttention(qkv, new int[] {0, 6}, 2, 2, 0f, new float[24]),
                    "divisor must be positive and finite, got 0.0");
        }
    }

    @Test
    void aBackendWithoutDenseOpsSaysSo() {
        Backend none = new Backend() {
            @Override
            public String name() {
                return "none";
            }

            @Override
            public Availability availability() {
                return Availability.ready(false, "test");
            }

            @Override
            public MxdLayer load(MxdModel model) {
                throw new UnsupportedOperationException();
            }
        };
        named(none::denseOps, "backend 'none' has no dense operations");
    }

    private static void named(Executable call, String message) {
        RuntimeException e = assertThrows(RuntimeException.class, call);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
