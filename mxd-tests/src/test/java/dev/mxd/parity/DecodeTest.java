package dev.mxd.parity;

import dev.mxd.oracle.Agreement;
import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.oracle.OracleMxd;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Decode with hand-made codes (steering, DESIGN §1) matches the oracle: an expert outside the token's top K with
 * a large value, a code overwritten to 0, a repeated index, and code tables narrower and wider than K.
 */
class DecodeTest {
    static Stream<Arguments> cases() {
        MxdConfig[] cfgs = {
                MxdConfig.mxd(17, 33, 100, 19, 4, Activation.GELU, true, true),
                MxdConfig.mxd(3, 5, 17, 100, 17, Activation.RELU, false, false),
                MxdConfig.skipTranscoder(17, 100, 3, 6, Activation.SIGMOID, false),
                MxdConfig.transcoder(100, 17, 17, 3, Activation.SILU, true)};
        return BackendsUnderTest.all().stream().flatMap(b -> Arrays.stream(cfgs).map(c -> Arguments.of(b, c)));
    }

    @ParameterizedTest(name = "[{0}] {1}", allowZeroInvocations = true)
    @MethodSource("cases")
    void handMadeCodesMatchTheOracle(Backend backend, MxdConfig cfg) {
        int tokens = 5;
        try (Fixture f = new Fixture(cfg, tokens, 31); MxdLayer layer = backend.load(f.model)) {
            int k = cfg.k();
            int space = cfg.codeSpace();
            Codes codes = layer.encode(f.x);
            // token 0: steer an expert outside the top K into the last slot with a large value
            // (with K = N every code is selected: steer code 0 again)
            codes.set(0, k - 1, Math.max(0, Fixture.outsideTopK(codes, 0, space)), 100f);
            // token 1: a code overwritten to 0 contributes nothing
            codes.set(1, 0, codes.index(1, 0), 0f);
            // token 2: a repeated index adds up its values
            if (k > 1) {
                codes.set(2, 1, codes.index(2, 0), -2.5f);
            }
            check(backend, f, layer, codes, "steered codes");

            Codes wide = Codes.onHeap(tokens, k + 3);
            Codes narrow = Codes.onHeap(tokens, 1);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < k + 3; j++) {
                    wide.set(t, j, j < k ? codes.index(t, j) : (t * 7 + j * 13) % space, j < k ? codes.value(t, j) : 0.5f * j);
                }
                narrow.set(t, 0, (t * 11) % space, 3f);
            }
            check(backend, f, layer, wide, "width K + 3");
            check(backend, f, layer, narrow, "width 1");
            check(backend, f, layer, Codes.onHeap(tokens, 0), "width 0");
        }
    }

    private static void check(Backend backend, Fixture f, MxdLayer layer, Codes codes, String what) {
        float[] y = layer.decode(f.x, codes);
        double[] y64 = f.oracle.decode(f.x, f.tokens, OracleMxd.Codes64.of(codes));
        Agreement.requireClose(backend.name() + " " + f.cfg + " " + what, y, y64, f.cfg.outputDim());
    }
}
