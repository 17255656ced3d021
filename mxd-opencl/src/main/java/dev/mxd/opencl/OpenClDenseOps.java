package dev.mxd.opencl;

import dev.mxd.Activation;
import dev.mxd.DenseOps;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * The dense operations of the OpenCL backend on one device, with their own context and in-order queue. The dense
 * layer is gemm.cl's tiled {@code encoder} built without GLU, one program per activation (built on first use, with
 * {@code ACT_NONE} for none); its weight and bias are uploaded once. Self-attention is attention.cl's
 * {@code self_attention}, one work-item per row and head. Every call uploads its inputs and waits for its outputs.
 *
 * <p>Threads: calls are serialised on a lock (one queue, scratch buffers grown and reused across calls). Closing
 * waits for a running call, then releases every OpenCL object of the ops and their layers.
 */
final class OpenClDenseOps extends DenseOps {
    private final SerialCalls calls = new SerialCalls("these DenseOps (backend " + OpenClBackend.NAME + ") are closed");

    private final ClObjects objects = new ClObjects();
    private final ClDevice device;
    private final ClQueue cl;
    private final long attention;
    /** The dense kernel per activation name ("none" for none), touched only inside {@link #calls}. */
    private final Map<String, DenseKernel> denseKernels = new HashMap<>();
    private final ClQueue.Scratch x, y, qkv, starts, context;

    /** A built {@code encoder} kernel and the geometry it was built for. */
    private record DenseKernel(long kernel, KernelGeometry geometry) {
    }

    /**
     * Creates the context and queue on {@code device} and builds the attention kernel.
     *
     * @throws ClBuildException when the device's compiler rejects the kernel (with its log)
     * @throws ClException      when another OpenCL call fails; nothing created so far outlives the call
     */
    OpenClDenseOps(ClDevice device) {
        super(OpenClBackend.NAME);
        this.device = device;
        try {
            cl = new ClQueue(objects, device);
            long program = KernelProgram.build(objects, cl.context(), device,
                    KernelProgram.sources(KernelProgram.ATTENTION_SOURCES), KernelProgram.ATTENTION_OPTIONS);
            attention = KernelProgram.kernel(objects, program, "self_attention");
            x = cl.scratch("x [rows, inputs]");
            y = cl.scratch("y [rows, outputs]");
            qkv = cl.scratch("qkv [rows, 3·heads·d]");
            starts = cl.scratch("starts [sequences + 1]");
            context = cl.scratch("context [rows, heads·d]");
        } catch (RuntimeException | Error e) {
            objects.closeAfter(e);
            throw e;
        }
    }

    @Override
    protected Dense denseImpl(String name, float[] weight, int inputs, int outputs, float[] bias,
                              Activation activation) {
        return calls.get(() -> {
            DenseKernel k = denseKernel(activation);
            long w = cl.readOnly(MemorySegment.ofArray(weight), name + ".weight");
            long b = cl.readOnly(MemorySegment.ofArray(bias != null ? bias : new float[outputs]), name + ".bias");
            return new ClDense(name, inputs, outputs, k, w, b);
        });
    }

    @Override
    protected void selfAttentionImpl(float[] qkvRows, int[] sequenceStarts, int heads, int d, float divisor,
                                     float[] out) {
        int rows = sequenceStarts[sequenceStarts.length - 1];
        int width = heads * d;
        calls.run(() -> {
            long in = qkv.ensure((long) rows * 3 * width * Float.BYTES);
            cl.upload(in, MemorySegment.ofArray(qkvRows).asSlice(0, (long) rows * 3 * width * Float.BYTES));
            long s = starts.ensure((long) sequenceStarts.length * Integer.BYTES);
            cl.upload(s, MemorySegment.ofArray(sequenceStarts));
            long c = context.ensure((long) rows * width * Float.BYTES);
            new ClQueue.Args(attention, "self_attention").buffers(in, s).ints(sequenceStarts.length - 1, heads, d)
                    .floats(divisor).buffers(c).ints(rows);
            cl.launch(attention, "self_attention", rows, heads, 0, 0);
            cl.download(c, MemorySegment.ofArray(out).asSlice(0, (long) rows * width * Float.BYTES));
        });
    }

    @Override
    protected void closeImpl() {
        calls.release(cl::finishAndClose);
    }

    /**
     * The encoder kernel for {@code activation}, built on first use with the device's geometry, or with
     * {@link KernelGeometry#FAT} where the compiler caps the kernel below the wider geometry's group size.
     */
    private DenseKernel denseKernel(Activation activation) {
        String key = activation == null ? "none" : activation.referenceName();
        DenseKernel k = denseKernels.get(key);
        if (k == null) {
            k = KernelGeometry.buildFitting(device, geometry -> buildDense(geometry, activation));
            denseKernels.put(key, k);
        }
        return k;
    }

    private DenseKernel buildDense(KernelGeometry geometry, Activation activation) {
        long program = KernelProgram.build(objects, cl.context(), device,
                KernelProgram.sources(KernelProgram.DENSE_SOURCES), KernelProgram.denseOptions(geometry, activation));
        long kernel = KernelProgram.kernel(objects, program, "encoder");
        cl.requireGroupSize(kernel, "encoder", geometry.groupSize());
        return new DenseKernel(kernel, geometry);
    }

    /** A dense layer whose weight [inputs, outputs] and bias [outputs] live on the device. */
    private final class ClDense extends Dense {
        private final DenseKernel k;
        private final long weight, bias;

        ClDense(String name, int inputs, int outputs, DenseKernel k, long weight, long bias) {
            super(OpenClDenseOps.this, name, inputs, outputs);
            this.k = k;
            this.weight = weight;
            this.bias = bias;
        }

        @Override
        protected void applyImpl(int rows, float[] xRows, float[] yRows) {
            calls.run(() -> {
                long in = x.ensure((long) rows * inputs() * Float.BYTES);
                cl.upload(in, MemorySegment.ofArray(xRows).asSlice(0, (long) rows * inputs() * Float.BYTES));
                long out = y.ensure((long) rows * outputs() * Float.BYTES);
                new ClQueue.Args(k.kernel(), "encoder").buffers(in, weight, bias, 0, 0, out)
                        .ints(rows, inputs(), outputs());
                cl.launchTiles(k.kernel(), "encoder", k.geometry(), rows, outputs());
                cl.download(out, MemorySegment.ofArray(yRows).asSlice(0, (long) rows * outputs() * Float.BYTES));
            });
        }

        @Override
        protected void closeImpl() {
            calls.unlessReleased(() -> {
                objects.release(weight);
                objects.release(bias);
            });
        }
    }
}
