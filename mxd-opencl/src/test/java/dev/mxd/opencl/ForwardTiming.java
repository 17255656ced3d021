package dev.mxd.opencl;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * A quick wall-clock timing of the OpenCL forward pass and its steps, for numbers between JMH runs (not a
 * test). Arguments: I H N O K T [reps]; device by {@code -Dmxd.opencl.device}. Prints the median of
 * {@code reps} calls after two warm-up calls (kernel compilation happens in the first).
 *
 * <pre>
 * mvn -B -q -pl mxd-opencl -am test-compile
 * cd mxd-opencl &amp;&amp; mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
 *      -cp target/classes:target/test-classes:$(cat target/cp.txt) \
 *      dev.mxd.opencl.ForwardTiming 768 3072 21504 768 32 512 3
 * </pre>
 */
public final class ForwardTiming {
    private ForwardTiming() {
    }

    public static void main(String[] args) {
        int i = Integer.parseInt(args[0]), h = Integer.parseInt(args[1]), n = Integer.parseInt(args[2]);
        int o = Integer.parseInt(args[3]), k = Integer.parseInt(args[4]), t = Integer.parseInt(args[5]);
        int reps = args.length > 6 ? Integer.parseInt(args[6]) : 5;
        MxdConfig cfg = MxdConfig.mxd(i, h, n, o, k, Activation.GELU, false, false);
        OpenClBackend backend = new OpenClBackend();
        System.out.println("device: " + backend.availability().detail());
        try (MxdModel model = MxdModel.random(cfg, 1); MxdLayer layer = backend.load(model); Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate((long) t * i * Float.BYTES, 64);
            float[] in = Oracle.inputs(t, i, 2);
            MemorySegment.copy(MemorySegment.ofArray(in), 0, x, 0, x.byteSize());
            MemorySegment y = arena.allocate((long) t * o * Float.BYTES, 64);
            Codes codes = Codes.allocate(arena, t, k);
            double fwd = median(reps, () -> layer.forward(x, t, y, codes));
            double enc = median(reps, () -> layer.encode(x, t, codes));
            double dec = median(reps, () -> layer.decode(x, t, codes, y));
            // multiply-adds: gate T·I·N, encoder T·I·H, decoder T·H·O, gather T·K·O
            double gateFlops = 2.0 * t * i * n, encFlops = 2.0 * t * i * h, decFlops = 2.0 * t * h * o;
            System.out.printf(Locale.ROOT, "MxD I=%d H=%d N=%d O=%d K=%d gelu, T=%d: forward %.1f ms (%.0f tokens/s),"
                            + " encode %.1f ms (gate %.1f GFLOP/s), decode %.1f ms (encoder+decoder %.1f GFLOP/s)%n",
                    i, h, n, o, k, t, fwd * 1e3, t / fwd, enc * 1e3, gateFlops / enc / 1e9, dec * 1e3,
                    (encFlops + decFlops) / dec / 1e9);
        }
    }

    private static double median(int reps, Runnable call) {
        call.run();
        call.run();
        double[] s = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            call.run();
            s[r] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(s);
        return s[reps / 2];
    }
}
