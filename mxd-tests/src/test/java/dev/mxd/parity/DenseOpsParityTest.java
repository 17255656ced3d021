package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.DenseOps;
import dev.mxd.oracle.Agreement;
import dev.mxd.oracle.OracleDenseOps;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend's {@link DenseOps} against the float64 oracle ({@link OracleDenseOps}) under DESIGN §6: the dense
 * layer at sizes that are multiples of no vector or tile width, 1 included, with and without bias, every activation
 * and none, one row to several tiles of rows; self-attention with one head of width 1, sequences of one row, empty
 * sequences, and the shape of all-MiniLM-L6-v2 (12 heads of 32).
 */
class DenseOpsParityTest {

    record DenseCase(int rows, int inputs, int outputs, boolean bias, Activation act) {
        @Override
        public String toString() {
            return "dense [" + rows + ", " + inputs + "]·[" + inputs + ", " + outputs + "]" + (bias ? " + b" : "")
                    + " " + (act == null ? "identity" : act.referenceName());
        }
    }

    record AttentionCase(int[] starts, int heads, int d) {
        @Override
        public String toString() {
            return "attention starts " + Arrays.toString(starts) + " heads " + heads + " d " + d;
        }
    }

    static final DenseCase[] DENSE = {
            new DenseCase(1, 1, 1, true, Activation.RELU),
            new DenseCase(7, 37, 65, false, null),
            new DenseCase(130, 385, 129, true, Activation.GELU),
            new DenseCase(3, 17, 3, true, Activation.GELU_TANH),
            new DenseCase(65, 3, 100, false, Activation.SIGMOID),
            new DenseCase(2, 100, 17, true, Activation.SILU),
            new DenseCase(67, 384, 1152, true, null)};

    static final AttentionCase[] ATTENTION = {
            new AttentionCase(new int[] {0, 1}, 1, 1),
            new AttentionCase(new int[] {0, 3, 3, 70}, 3, 5),
            new AttentionCase(new int[] {0, 0, 17}, 2, 7),
            new AttentionCase(new int[] {0, 128, 129, 200}, 12, 32)};

    static Stream<Arguments> dense() {
        return BackendsUnderTest.all().stream().flatMap(b -> Arrays.stream(DENSE).map(c -> Arguments.of(b, c)));
    }

    static Stream<Arguments> attention() {
        return BackendsUnderTest.all().stream().flatMap(b -> Arrays.stream(ATTENTION).map(c -> Arguments.of(b, c)));
    }

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}] {1}", allowZeroInvocations = true)
    @MethodSource("dense")
    void denseMatchesOracle(Backend backend, DenseCase c) {
        int seed = Arrays.asList(DENSE).indexOf(c);
        float[] w = Fixture.gaussian(c.inputs() * c.outputs(), 300 + seed);
        float[] b = c.bias() ? Fixture.gaussian(c.outputs(), 400 + seed) : null;
        float[] x = Fixture.gaussian(c.rows() * c.inputs(), 500 + seed);
        double[] y64 = OracleDenseOps.dense64(c.rows(), x, w, c.inputs(), c.outputs(), b, c.act());
        try (DenseOps ops = backend.denseOps()) {
            DenseOps.Dense layer = ops.dense("layer", w, c.inputs(), c.outputs(), b, c.act());
            Arrays.fill(w, Float.NaN); // the weights were read at creation and are not read again
            float[] y = new float[c.rows() * c.outputs()];
            layer.apply(c.rows(), x, y);
            Agreement.requireClose(backend.name() + " " + c, y, y64, c.outputs());
            float[] again = new float[y.length];
            layer.apply(c.rows(), x, again);
            assertArrayEquals(y, again, "a second call gives the same values");
        }
    }

    @ParameterizedTest(name = "[{0}] {1}", allowZeroInvocations = true)
    @MethodSource("attention")
    void attentionMatchesOracle(Backend backend, AttentionCase c) {
        int rows = c.starts()[c.starts().length - 1];
        int width = c.heads() * c.d();
        float[] qkv = Fixture.gaussian(rows * 3 * width, 600 + Arrays.asList(ATTENTION).indexOf(c));
        float divisor = (float) Math.sqrt(c.d());
        double[] context64 = OracleDenseOps.selfAttention64(qkv, c.starts(), c.heads(), c.d(), divisor);
        try (DenseOps ops = backend.denseOps()) {
            float[] context = new float[rows * width];
            ops.selfAttention(qkv, c.starts(), c.heads(), c.d(), divisor, context);
            Agreement.requireClose(backend.name() + " " + c, context, context64, width);
        }
    }

    /** Layers closed before their ops, after them, or never: each call on a closed one is refused by name. */
    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void closedOpsAndLayersRefuseCalls(Backend backend) {
        float[] x = {1, 2}, y = new float[2];
        DenseOps ops = backend.denseOps();
        DenseOps.Dense early = ops.dense("early", new float[4], 2, 2, null, null);
        DenseOps.Dense late = ops.dense("late", new float[] {1, 0, 0, 1}, 2, 2, new float[] {1, 1}, null);
        early.close();
        early.close();
        var closed = assertThrows(IllegalStateException.class, () -> early.apply(1, x, y));
        assertTrue(closed.getMessage().contains("dense layer early (backend " + backend.name() + ") is closed"),
                closed.getMessage());
        late.apply(1, x, y);
        assertArrayEquals(new float[] {2, 3}, y);
        ops.close();
        late.close();
        ops.close();
        assertThrows(IllegalStateException.class, () -> late.apply(1, x, y));
        assertThrows(IllegalStateException.class, () -> ops.dense("after", new float[1], 1, 1, null, null));
        assertThrows(IllegalStateException.class,
                () -> ops.selfAttention(new float[3], new int[] {0, 1}, 1, 1, 1f, new float[1]));
    }
}
