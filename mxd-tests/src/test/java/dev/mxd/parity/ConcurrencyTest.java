package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One loaded layer called from 16 threads at once gives each caller its single-threaded results, bit for bit, and
 * every caller ends within a time bound (a deadlock fails the test instead of hanging the build).
 */
class ConcurrencyTest {
    private static final int CALLERS = 16;
    private static final long BOUND_SECONDS = 300;
    private static final int ROUNDS = 3;

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void sixteenCallersGetTheirSingleThreadedResults(Backend backend) throws Exception {
        MxdConfig cfg = MxdConfig.mxd(33, 65, 300, 17, 8, Activation.GELU, true, true);
        int tokens = 411;
        try (Fixture f = new Fixture(cfg, tokens, 77); MxdLayer layer = backend.load(f.model)) {
            float[][] x = new float[CALLERS][];
            MxdLayer.Output[] expected = new MxdLayer.Output[CALLERS];
            for (int c = 0; c < CALLERS; c++) {
                x[c] = Fixture.gaussian(tokens * cfg.inputDim(), 500 + c);
                expected[c] = layer.forward(x[c]);
            }
            ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int c = 0; c < CALLERS; c++) {
                    int caller = c;
                    done.add(callers.submit(() -> {
                        for (int round = 0; round < ROUNDS; round++) {
                            MxdLayer.Output out = layer.forward(x[caller]);
                            String what = "caller " + caller + ", round " + round;
                            assertArrayEquals(expected[caller].y(), out.y(), what + ": y");
                            assertArrayEquals(ParityTest.indices(expected[caller].codes()),
                                    ParityTest.indices(out.codes()), what + ": code indices");
                            assertArrayEquals(ParityTest.values(expected[caller].codes()),
                                    ParityTest.values(out.codes()), what + ": code values");
                        }
                        return null;
                    }));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
                for (Future<?> d : done) {
                    try {
                        d.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    } catch (TimeoutException e) {
                        throw new AssertionError(CALLERS + " callers not done within " + BOUND_SECONDS
                                + " s: a deadlock, or a machine far slower than any seen", e);
                    }
                }
            } finally {
                callers.shutdownNow();
            }
        }
    }
}
