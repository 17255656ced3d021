package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.AdamW;
import dev.mxd.train.ReferenceInit;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * The parts of one training step at the paper's GPT-2 shape (I = O = 768, H = 3072, N = 21490, K = 32), timed
 * with the wall clock: decoder-norm, forward + backward with the decoder-gradient projection fused in (the
 * trainer's path), AdamW. Not a test and not JMH: a quick look at where a step's time goes. Run with
 * {@code tools/run-test-main mxd-cpu-simd dev.mxd.cpu.TrainingStepTiming [tokens] [steps] [gpt2|small]}.
 * It ends with a checksum of the weights, to compare runs (e.g. with other {@code -Dmxd.threads}).
 */
public final class TrainingStepTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

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
}
