package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.oracle.Agreement;
import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.oracle.OracleMxd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend against the float64 oracle (DESIGN §6) over a pairwise cover of the shapes and options: each
 * activation with each kind, GLU and skip on and off, widths 1, 3, 17, 100, 385 (multiples of no vector or tile
 * width), K = 1 and K = N (K = H for TC/STC), T = 1, 7, 50 and T ≥ 4,099 (several blocks and threads). The Maven
 * build runs this class once per forced SIMD width, each in its own JVM.
 */
class ParityTest {

    record Case(String name, MxdConfig cfg, int tokens) {
        @Override
        public String toString() {
            return name + " I" + cfg.inputDim() + " H" + cfg.hiddenDim() + " N" + cfg.experts() + " O"
                    + cfg.outputDim() + " K" + cfg.k() + " T" + tokens;
        }
    }

    private static Case mxd(Activation act, boolean glu, boolean skip, int i, int h, int n, int o, int k, int t) {
        return new Case("mxd " + act.referenceName() + (glu ? " glu" : "") + (skip ? " skip" : ""),
                MxdConfig.mxd(i, h, n, o, k, act, glu, skip), t);
    }

    private static Case tc(Activation act, boolean glu, int i, int h, int o, int k, int t) {
        return new Case("tc " + act.referenceName() + (glu ? " glu" : ""), MxdConfig.transcoder(i, h, o, k, act, glu), t);
    }

    private static Case stc(Activation act, boolean glu, int i, int h, int o, int k, int t) {
        return new Case("stc " + act.referenceName() + (glu ? " glu" : ""),
                MxdConfig.skipTranscoder(i, h, o, k, act, glu), t);
    }

    static final List<Case> CASES = List.of(
            mxd(Activation.RELU, false, false, 17, 33, 100, 19, 1, 1),
            mxd(Activation.GELU, true, false, 3, 17, 385, 100, 7, 7),
            mxd(Activation.GELU_TANH, false, true, 100, 385, 17, 3, 17, 50),
            mxd(Activation.SIGMOID, true, true, 385, 100, 3, 17, 3, 7),
            mxd(Activation.SILU, false, true, 1, 3, 17, 385, 5, 1),
            mxd(Activation.RELU, true, true, 17, 1, 1, 1, 1, 7),
            mxd(Activation.GELU, false, false, 17, 100, 385, 17, 32, 4099),
            mxd(Activation.SILU, true, false, 3, 17, 100, 3, 100, 4111),
            mxd(Activation.SIGMOID, false, false, 100, 3, 100, 100, 50, 50),
            mxd(Activation.GELU_TANH, true, true, 1, 1, 1, 1, 1, 1),
            tc(Activation.RELU, false, 17, 100, 3, 1, 7),
            tc(Activation.GELU, true, 100, 385, 17, 385, 1),
            tc(Activation.GELU_TANH, false, 3, 17, 100, 17, 4099),
            tc(Activation.SIGMOID, true, 385, 3, 1, 2, 50),
            tc(Activation.SILU, false, 1, 100, 385, 32, 7),
            stc(Activation.RELU, true, 3, 385, 17, 100, 1),
            stc(Activation.GELU, false, 17, 3, 100, 3, 50),
            stc(Activation.GELU_TANH, true, 100, 17, 3, 1, 7),
            stc(Activation.SIGMOID, false, 1, 100, 385, 100, 4099),
            stc(Activation.SILU, true, 385, 17, 17, 5, 7));

    static Stream<Arguments> cases() {
        return BackendsUnderTest.all().stream().flatMap(b -> CASES.stream().map(c -> Arguments.of(b, c)));
    }

    @ParameterizedTest(name = "[{0}] {1}", allowZeroInvocations = true)
    @MethodSource("cases")
    void forwardMatchesOracle(Backend backend, Case c) {
        try (Fixture f = new Fixture(c.cfg(), c.tokens(), 1000 + CASES.indexOf(c));
             MxdLayer layer = backend.load(f.model)) {
            MxdLayer.Output out = layer.forward(f.x);
            Agreement.requireCodesAgree(backend.name() + " " + c, out.codes(), f.scores(), c.cfg().k());
            // y against the oracle's decode of these very codes: a legitimate near-tie swap changes y a lot
            double[] y64 = f.oracle.decode(f.x, f.tokens, OracleMxd.Codes64.of(out.codes()));
            Agreement.requireClose(backend.name() + " " + c + " y", out.y(), y64, c.cfg().outputDim());
        }
    }

    /** encode then decode gives the fused results bit for bit, here through segments of a confined arena. */
    @ParameterizedTest(name = "[{0}] {1}", allowZeroInvocations = true)
    @MethodSource("cases")
    void twoStepEqualsFused(Backend backend, Case c) {
        try (Fixture f = new Fixture(c.cfg(), c.tokens(), 2000 + CASES.indexOf(c));
             MxdLayer layer = backend.load(f.model);
             Arena arena = Arena.ofConfined()) {
            MxdLayer.Output fused = layer.forward(f.x);
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, f.x);
            Codes codes = Codes.allocate(arena, f.tokens, c.cfg().k());
            layer.encode(x, f.tokens, codes);
            assertArrayEquals(indices(fused.codes()), indices(codes), "encode indices");
            assertArrayEquals(values(fused.codes()), values(codes), "encode values");
            MemorySegment y = arena.allocate((long) f.tokens * c.cfg().outputDim() * Float.BYTES);
            layer.decode(x, f.tokens, codes, y);
            assertArrayEquals(fused.y(), y.toArray(ValueLayout.JAVA_FLOAT), "decode(encode(x)) vs forward(x)");
        }
    }

    /** The fork's forced width (mxd.simd.bits), else the machine's preferred width, is the one the cpu backend runs. */
    @Test
    void forcedWidthIsInEffect() {
        String forced = System.getProperty("mxd.simd.bits");
        String bits = forced != null ? forced
                : String.valueOf(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        Backend cpu = BackendsUnderTest.all().stream().filter(b -> b.name().equals("cpu")).findFirst().orElseThrow();
        String detail = cpu.availability().detail();
        assertTrue(bits.equals("0") ? detail.startsWith("scalar") : detail.contains(bits + "-bit"), detail);
    }

    static int[] indices(Codes c) {
        return c.indexSegment().toArray(ValueLayout.JAVA_INT);
    }

    static float[] values(Codes c) {
        return c.valueSegment().toArray(ValueLayout.JAVA_FLOAT);
    }
}
