package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.Metrics;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingOptions;
import java.util.SplittableRandom;

/**
 * The paper's claim in miniature (a figure, not a test): on (x, MLP(x)) pairs of a random dense GELU MLP, an MxD
 * reconstructs the MLP better than a TC with the same parameter count and the same K, trained on the same tokens
 * with the same settings. Prints the held-out FVU, L0 and dead fraction of each, for each K.
 *
 * <p>The MLP: I = O = 64, 256 hidden GELU units, weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), x ~ N(0, 1). The
 * TC has width 8·I = 512; the MxD has H = 4·I = 256 and the equal-parameter N of DESIGN §1
 * ({@link MxdConfig#equalParameterExperts}). Both use the reference's initialisation and decoder-norm, AdamW,
 * constantwithwarmup (5 % warm-up), batch 1024. Run with
 * {@code tools/run-test-main mxd-cpu-simd dev.mxd.cpu.PaperClaimMiniature [steps] [lr] [K ...]}
 * (defaults 1000 steps, lr 1e-3, K = 8 16).
 */
public final class PaperClaimMiniature {
    private static final int WIDTH = 64, MLP_HIDDEN = 256, BATCH = 1024;

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        double lr = args.length > 1 ? Double.parseDouble(args[1]) : 1e-3;
        int[] ks = args.length > 2 ? java.util.Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {8, 16};
        ActivationSource data = mlpData(1, 131_072, 16_384);
        int tcWidth = 8 * WIDTH;
        int hidden = 4 * WIDTH;
        int experts = MxdConfig.equalParameterExperts(WIDTH, hidden, WIDTH, tcWidth, false);
        System.out.printf("dense GELU MLP %d-%d-%d; %d steps of %d tokens (%,d tokens), lr %g; held-out %,d tokens%n",
                WIDTH, MLP_HIDDEN, WIDTH, steps, BATCH, (long) steps * BATCH, lr, data.eval().tokens());
        System.out.println("kind  K   H     N     parameters  FVU      L0     dead");
        for (int k : ks) {
            MxdConfig tc = MxdConfig.transcoder(WIDTH, tcWidth, WIDTH, k, Activation.GELU, false);
            MxdConfig mxd = MxdConfig.mxd(WIDTH, hidden, experts, WIDTH, k, Activation.GELU, false, false);
            for (MxdConfig cfg : new MxdConfig[] {tc, mxd}) {
                Metrics.Summary m = train(cfg, data, steps, lr);
                System.out.printf("%-5s %-3d %-5d %-5s %-11d %-8.4f %-6.2f %.3f%n", cfg.kind().name().toLowerCase(), k,
                        cfg.hiddenDim(), cfg.experts() > 0 ? Integer.toString(cfg.experts()) : "-", cfg.parameterCount(),
                        m.fvu(), m.l0(), m.deadFraction());
            }
        }
    }

    private static Metrics.Summary train(MxdConfig cfg, ActivationSource data, int steps, double lr) {
        TrainingOptions options = TrainingOptions.builder(BATCH, (long) steps * BATCH).lr(lr)
                .warmupSteps(Math.max(1, steps / 20)).seed(1).build();
        try (MxdModel model = ReferenceInit.create(cfg, options.decoderNorm(cfg.kind()), 2);
             CpuTrainingKernels kernels = CpuTrainingKernels.of(model);
             Trainer trainer = new Trainer(kernels, data, options, null)) {
            trainer.run();
            return trainer.evaluate();
        }
    }

    /** (x, MLP(x)) pairs of one random GELU MLP, split into training and held-out rows. */
    static ActivationSource mlpData(long seed, int train, int eval) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] w1 = gaussian(r, WIDTH * MLP_HIDDEN, 1 / Math.sqrt(WIDTH));
        double[] b1 = gaussian(r, MLP_HIDDEN, 0.1);
        double[] w2 = gaussian(r, MLP_HIDDEN * WIDTH, 1 / Math.sqrt(MLP_HIDDEN));
        double[] b2 = gaussian(r, WIDTH, 0.1);
        float[][] xs = new float[2][], ts = new float[2][];
        int[] sizes = {train, eval};
        double[] h = new double[MLP_HIDDEN];
        for (int s = 0; s < 2; s++) {
            float[] x = new float[sizes[s] * WIDTH];
            float[] t = new float[sizes[s] * WIDTH];
            for (int row = 0; row < sizes[s]; row++) {
                int xo = row * WIDTH;
                for (int i = 0; i < WIDTH; i++) {
                    x[xo + i] = (float) r.nextGaussian();
                }
                for (int j = 0; j < MLP_HIDDEN; j++) {
                    double a = b1[j];
                    for (int i = 0; i < WIDTH; i++) {
                        a += x[xo + i] * w1[i * MLP_HIDDEN + j];
                    }
                    h[j] = Activation.GELU.apply(a);
                }
                for (int o = 0; o < WIDTH; o++) {
                    double a = b2[o];
                    for (int j = 0; j < MLP_HIDDEN; j++) {
                        a += h[j] * w2[j * WIDTH + o];
                    }
                    t[xo + o] = (float) a;
                }
            }
            xs[s] = x;
            ts[s] = t;
        }
        return ActivationSource.inMemory(WIDTH, WIDTH, xs[0], ts[0], xs[1], ts[1]);
    }

    private static double[] gaussian(SplittableRandom r, int n, double sd) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian() * sd;
        }
        return a;
    }
}
