package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A token's codes and output do not depend on the other tokens of its call: calls of 1 to 300 tokens (one block
 * spread over the threads by columns, or several row blocks) give the same bits, fused or in two steps.
 */
class BatchInvarianceTest {
    static Stream<MxdConfig> configs() {
        return Stream.of(MxdConfig.mxd(37, 70, 700, 29, 9, Activation.GELU, true, true),
                MxdConfig.skipTranscoder(29, 600, 37, 11, Activation.SILU, true),
                MxdConfig.transcoder(20, 300, 10, 4, Activation.RELU, false));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void slicesOfACallGiveItsBits(MxdConfig cfg) {
        int tokens = 300;
        int in = cfg.inputDim(), out = cfg.outputDim(), k = cfg.k();
        try (MxdModel model = MxdModel.random(cfg, 5); MxdLayer layer = new CpuBackend().load(model)) {
            float[] x = KernelsTest.random(new java.util.SplittableRandom(6), tokens * in);
            MxdLayer.Output all = layer.forward(x);
            int[] sizes = {1, 5, 7, 13, 50, 24};
            int t0 = 0;
            for (int i = 0; t0 < tokens; i++) {
                int n = Math.min(sizes[i % sizes.length], tokens - t0);
                float[] xs = Arrays.copyOfRange(x, t0 * in, (t0 + n) * in);
                float[] y;
                Codes codes;
                if (i % 2 == 0) {
                    MxdLayer.Output part = layer.forward(xs);
                    y = part.y();
                    codes = part.codes();
                } else {
                    codes = layer.encode(xs);
                    y = layer.decode(xs, codes);
                }
                String what = "tokens [" + t0 + ", " + (t0 + n) + ")";
                assertArrayEquals(Arrays.copyOfRange(all.y(), t0 * out, (t0 + n) * out), y, what + ": y");
                assertArrayEquals(slice(all.codes().indexSegment().toArray(ValueLayout.JAVA_INT), t0 * k, n * k),
                        codes.indexSegment().toArray(ValueLayout.JAVA_INT), what + ": code indices");
                assertArrayEquals(Arrays.copyOfRange(all.codes().valueSegment().toArray(ValueLayout.JAVA_FLOAT),
                        t0 * k, (t0 + n) * k), codes.valueSegment().toArray(ValueLayout.JAVA_FLOAT), what + ": values");
                t0 += n;
            }
        }
    }

    private static int[] slice(int[] a, int from, int length) {
        return Arrays.copyOfRange(a, from, from + length);
    }
}
