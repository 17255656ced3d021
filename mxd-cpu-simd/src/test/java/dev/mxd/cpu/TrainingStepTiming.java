package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.AdamW;
import dev.mxd.train.ReferenceInit;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The parts of one training step at the paper's GPT-2 shape (I = O = 768, H = 3072, N = 21490, K = 32), timed
 * with the wall clock: decoder-norm, forward + backward with the decoder-gradient projection fused in (the
 * trainer's path), AdamW. Not a test and not JMH: a quick look at where a step's time goes. Run with
 * {@code tools/run-test-main mxd-cpu-simd dev.mxd.cpu.TrainingStepTiming [tokens] [steps] [gpt2|small]}.
 * After the steps it prints their summary over the steps after the first {@link #WARM_UP}: the median step, the
 * dense GEMMs' share of it (the phases named "GEMM", per step) and each phase's median. The first steps compile
 * the kernels and collect the setup's garbage, and a short run's medians still carry some of that: at the GPT-2
 * shape, 24 steps of 4096 tokens or 48 of 1024 give steady figures. It ends with a checksum of the weights, to
 * compare runs (e.g. with other {@code -Dmxd.threads}).
 */
public final class TrainingStepTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** Steps left out of the summary. */
    private static final int WARM_UP = 3;

    public static void main(String[] args) {
        int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        boolean small = args.length > 2 && args[2].equals("small");
        MxdConfig cfg = small ? MxdConfig.mxd(128, 512, 2048, 128, 16, Activation.GELU, false, false)
                : MxdConfig.mxd(768, 3072, 21490, 768, 32, Activation.GELU, false, false);
        int width = cfg.inputDim();
        SplittableRandom r = new SplittableRandom(1);
        float[] x = new float[tokens * width];
        float[] t = new float[tokens * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
            t[i] = (float) r.nextGaussian();
        }
        AdamW adam = new AdamW(0.9, 0.999, 1e-8, 0);
        try (MxdModel model = ReferenceInit.create(cfg, true, 1);
             CpuTrainingKernels kernels = CpuTrainingKernels.of(model)) {
            float[] y = new float[tokens * width];
            Codes codes = Codes.onHeap(tokens, cfg.k());
            PhaseTimes.enabled = true;
            List<Double> stepMillis = new ArrayList<>();
            List<Double> shares = new ArrayList<>();
            Map<String, List<Double>> phases = new LinkedHashMap<>();
            for (int s = 0; s < steps; s++) {
                PhaseTimes.reset();
                long c0 = CPU.getProcessCpuTime();
                long t0 = System.nanoTime();
                kernels.normaliseDecoder();
                long t1 = System.nanoTime();
                // the trainer's path: the projection fused into the backward pass
                kernels.forwardBackward(MemorySegment.ofArray(x), MemorySegment.ofArray(t), tokens,
                        MemorySegment.ofArray(y), codes, true);
                long t2 = System.nanoTime();
                kernels.update(adam.next(1e-4));
                long t3 = System.nanoTime();
                double total = (t3 - t0) / 1e9;
                double cpu = (CPU.getProcessCpuTime() - c0) / 1e9;
                System.out.printf("step %d: %.3f s = norm %.3f + fwd/bwd with projection %.3f + adamw %.3f;"
                                + " %.0f tokens/s; process CPU %.3f s%n", s + 1, total, (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                        (t3 - t2) / 1e9, tokens / total, cpu);
                System.out.println("  " + PhaseTimes.describe(t3 - t0));
                if (s >= WARM_UP) {
                    long gemm = 0;
                    for (Map.Entry<String, Long> e : PhaseTimes.snapshot().entrySet()) {
                        phases.computeIfAbsent(e.getKey(), key -> new ArrayList<>()).add(e.getValue() / 1e6);
                        gemm += e.getKey().contains("GEMM") ? e.getValue() : 0;
                    }
                    stepMillis.add((t3 - t0) / 1e6);
                    shares.add(100.0 * gemm / (t3 - t0));
                }
            }
            if (!stepMillis.isEmpty()) {
                System.out.printf("steps %d-%d: median step %.0f ms (%.0f tokens/s); dense GEMMs' share of a step:"
                                + " median %.1f %% (%.1f-%.1f)%n", WARM_UP + 1, steps, median(stepMillis),
                        tokens * 1000 / median(stepMillis), median(shares), Collections.min(shares),
                        Collections.max(shares));
                phases.forEach((phase, ms) -> System.out.printf("  %7.1f ms  %s%n", median(ms), phase));
            }
            kernels.exportTo(model, null, null);
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            for (var tensor : model.tensors().values()) {
                crc.update(tensor.data().asByteBuffer());
            }
            System.out.printf("weights after %d steps: CRC-32 %08x (mxd.threads=%s)%n", steps, crc.getValue(),
                    System.getProperty("mxd.threads", "(unset)"));
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
