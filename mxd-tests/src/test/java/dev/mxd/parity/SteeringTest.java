package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.Steering;
import dev.mxd.oracle.Agreement;
import dev.mxd.oracle.OracleBackend;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Steering} on every backend, the oracle's own included, against what the edit means in the math of DESIGN
 * §1: overwriting an expert with 0 removes its contribution exactly, adding one outside the top K moves y by
 * {@code v·c_n ⊙ (z·W_dec)} (MxD) or {@code v·W_dec[n]} (TC, STC), and values of a repeated index add. Odd sizes,
 * K = 1, K = N and T = 1 included.
 */
class SteeringTest {
    private static final MxdConfig[] CONFIGS = {
            MxdConfig.mxd(17, 33, 100, 19, 4, Activation.GELU, true, true),
            MxdConfig.mxd(3, 5, 17, 100, 1, Activation.RELU, false, false),
            MxdConfig.mxd(5, 7, 3, 11, 3, Activation.SILU, false, true),   // K = N: no expert outside the top K
            MxdConfig.skipTranscoder(17, 100, 3, 6, Activation.SIGMOID, false),
            MxdConfig.transcoder(100, 17, 17, 1, Activation.SILU, true)};

    static Stream<Arguments> cases() {
        List<Backend> backends = new ArrayList<>(BackendsUnderTest.all());
        backends.add(new OracleBackend());
        return backends.stream().flatMap(b -> Arrays.stream(CONFIGS)
                .flatMap(c -> Stream.of(1, 6).map(t -> Arguments.of(b, c, t))));
    }

    @ParameterizedTest(name = "[{0}] {1} T{2}")
    @MethodSource("cases")
    void overwritingWithZeroRemovesTheExpertExactly(Backend backend, MxdConfig cfg, int tokens) {
        try (Fixture f = new Fixture(cfg, tokens, 41); MxdLayer layer = backend.load(f.model)) {
            Codes codes = layer.encode(f.x);
            int expert = codes.index(0, 0);   // token 0's strongest expert
            Steering remove = Steering.none().set(expert, 0f);
            MxdLayer.Output steered = remove.steer(layer, f.x);

            // the same codes with expert's pairs dropped, decoded by the oracle: what "removed" means
            OracleMxd.Codes64 without = drop(codes, expert);
            double[] expected = f.oracle.decode(f.x, tokens, without);
            Agreement.requireClose(backend.name() + " " + cfg + " set(" + expert + ", 0)", steered.y(), expected,
                    cfg.outputDim());
            // in float64 a zeroed pair adds exactly nothing, on every token (expert may be in other tokens' top K)
            double[] oracleSteered = f.oracle.decode(f.x, tokens, OracleMxd.Codes64.of(steered.codes()));
            for (int e = 0; e < expected.length; e++) {
                assertTrue(oracleSteered[e] == expected[e], "element " + e + ": " + oracleSteered[e] + " != " + expected[e]);
            }
            assertEquals(0f, contribution(steered.codes(), 0, expert), "token 0's total for expert " + expert);
        }
    }

    @ParameterizedTest(name = "[{0}] {1} T{2}")
    @MethodSource("cases")
    void addingAnExpertOutsideTheTopKMovesYByItsDecoder(Backend backend, MxdConfig cfg, int tokens) {
        try (Fixture f = new Fixture(cfg, tokens, 43); MxdLayer layer = backend.load(f.model)) {
            Codes codes = layer.encode(f.x);
            int expert = Fixture.outsideTopK(codes, tokens - 1, cfg.codeSpace());
            if (expert < 0) {
                assertEquals(cfg.k(), cfg.codeSpace(), "only K = N leaves no expert outside the top K");
                expert = codes.index(tokens - 1, 0);   // still a valid add: it stacks on the expert's own value
            }
            float value = 7.5f;
            int last = tokens - 1;
            MxdLayer.Output steered = Steering.none().add(expert, value).steer(layer, f.x, t -> t == last);

            double[] expected = f.oracle.decode(f.x, tokens, OracleMxd.Codes64.of(codes));
            double[] move = move(f, last, expert, value);
            for (int o = 0; o < cfg.outputDim(); o++) {
                expected[last * cfg.outputDim() + o] += move[o];
            }
            Agreement.requireClose(backend.name() + " " + cfg + " add(" + expert + ", " + value + ") on token " + last,
                    steered.y(), expected, cfg.outputDim());
            assertTrue(Arrays.stream(move).anyMatch(m -> Math.abs(m) > 1e-3), "the steer moves y visibly");
        }
    }

    @ParameterizedTest(name = "[{0}] {1} T{2}")
    @MethodSource("cases")
    void repeatedIndicesAddAndSetReplacesEarlierEdits(Backend backend, MxdConfig cfg, int tokens) {
        try (Fixture f = new Fixture(cfg, tokens, 47); MxdLayer layer = backend.load(f.model)) {
            int expert = cfg.codeSpace() / 2;
            float[] twice = Steering.none().add(expert, 1.25f).add(expert, 2.5f).steer(layer, f.x).y();
            float[] once = Steering.none().add(expert, 3.75f).steer(layer, f.x).y();
            float[] setAfterAdd = Steering.none().add(expert, 40f).set(expert, 3f).add(expert, 0.75f).steer(layer, f.x).y();
            float[] set = Steering.none().set(expert, 3.75f).steer(layer, f.x).y();

            Codes codes = layer.encode(f.x);
            double[] added = f.oracle.decode(f.x, tokens, OracleMxd.Codes64.of(Steering.none().add(expert, 3.75f).apply(codes)));
            double[] overwritten = f.oracle.decode(f.x, tokens, with(drop(codes, expert), expert, 3.75));
            String what = backend.name() + " " + cfg + " expert " + expert;
            Agreement.requireClose(what + " add 1.25 then 2.5", twice, added, cfg.outputDim());
            Agreement.requireClose(what + " add 3.75", once, added, cfg.outputDim());
            Agreement.requireClose(what + " add 40, set 3, add 0.75", setAfterAdd, overwritten, cfg.outputDim());
            Agreement.requireClose(what + " set 3.75", set, overwritten, cfg.outputDim());
        }
    }

    @Test
    void anExpertOutsideTheCodeSpaceIsRejectedByName() {
        MxdConfig cfg = CONFIGS[0];
        try (Fixture f = new Fixture(cfg, 2, 3); MxdLayer layer = new OracleBackend().load(f.model)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Steering.none().add(1, 1f).set(100, 2f).steer(layer, f.x));
            assertEquals("steering expert 100 is out of range [0, 100) (n_experts of this MXD)", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Steering.none().add(-1, 1f));
        }
    }

    @Test
    void unselectedTokensKeepTheirCodesAndPadWithZeros() {
        Codes codes = Codes.onHeap(2, 2);
        codes.set(0, 0, 4, 2f);
        codes.set(0, 1, 9, 1f);
        codes.set(1, 0, 9, 3f);
        codes.set(1, 1, 4, 0.5f);
        Codes out = Steering.none().set(9, 5f).add(2, 1f).apply(codes, t -> t == 1);
        assertEquals(4, out.width());
        float[][] expected = {{2f, 1f, 0f, 0f}, {0f, 0.5f, 5f, 1f}};
        int[][] experts = {{4, 9, 0, 0}, {9, 4, 9, 2}};
        for (int t = 0; t < 2; t++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(experts[t][j], out.index(t, j), "index [" + t + ", " + j + "]");
                assertEquals(expected[t][j], out.value(t, j), "value [" + t + ", " + j + "]");
            }
        }
        assertEquals(2f, codes.value(0, 0), "the input codes are not modified");
    }

    /** The change of token t's y when (expert, v) is added, from the weights: v·c_n ⊙ (z·W_dec) or v·W_dec[n]. */
    private static double[] move(Fixture f, int t, int expert, double v) {
        MxdConfig c = f.cfg;
        int o = c.outputDim();
        Tensor wDec = f.model.tensor("W_dec");   // [H, O]
        double[] out = new double[o];
        if (c.kind() == Kind.MXD) {
            double[] z = f.oracle.hiddenCode(f.x, t);
            Tensor wCond = f.model.tensor("W_cond");   // [O, N]: c_n is column n
            for (int col = 0; col < o; col++) {
                double zw = 0;
                for (int h = 0; h < z.length; h++) {
                    zw += z[h] * wDec.data().getAtIndex(Tensor.F32_LE, (long) h * o + col);
                }
                out[col] = v * wCond.data().getAtIndex(Tensor.F32_LE, (long) col * c.experts() + expert) * zw;
            }
        } else {
            for (int col = 0; col < o; col++) {
                out[col] = v * wDec.data().getAtIndex(Tensor.F32_LE, (long) expert * o + col);
            }
        }
        return out;
    }

    private static OracleMxd.Codes64 drop(Codes codes, int expert) {
        int width = codes.width();
        int[] index = new int[codes.tokens() * width];
        double[] value = new double[codes.tokens() * width];
        for (int t = 0; t < codes.tokens(); t++) {
            int w = 0;
            for (int j = 0; j < width; j++) {
                if (codes.index(t, j) != expert) {
                    index[t * width + w] = codes.index(t, j);
                    value[t * width + w] = codes.value(t, j);
                    w++;
                }
            }
            // the remaining slots stay (0, 0.0): dropped, not zero-weighted pairs of expert
        }
        return new OracleMxd.Codes64(codes.tokens(), width, index, value);
    }

    /** {@code codes} with one more pair (expert, v) on every token. */
    private static OracleMxd.Codes64 with(OracleMxd.Codes64 codes, int expert, double v) {
        int w = codes.width() + 1;
        int[] index = new int[codes.tokens() * w];
        double[] value = new double[codes.tokens() * w];
        for (int t = 0; t < codes.tokens(); t++) {
            System.arraycopy(codes.index(), t * codes.width(), index, t * w, codes.width());
            System.arraycopy(codes.value(), t * codes.width(), value, t * w, codes.width());
            index[t * w + codes.width()] = expert;
            value[t * w + codes.width()] = v;
        }
        return new OracleMxd.Codes64(codes.tokens(), w, index, value);
    }

    private static float contribution(Codes codes, int t, int expert) {
        float sum = 0;
        for (int j = 0; j < codes.width(); j++) {
            if (codes.index(t, j) == expert) {
                sum += codes.value(t, j);
            }
        }
        return sum;
    }
}
