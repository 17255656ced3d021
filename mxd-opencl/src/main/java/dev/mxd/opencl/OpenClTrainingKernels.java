package dev.mxd.opencl;

import static org.lwjgl.opencl.CL10.CL_MEM_READ_WRITE;

import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.BatchArguments;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * {@link TrainingKernels} on one OpenCL device (train.cl, with topk.cl's TopK and gather.cl's sparse product). The
 * parameters, their gradient and AdamW's moments live in device buffers for the life of the kernels, in the
 * checkpoint layout except C = {@code W_cond}ᵀ [N, O] (an expert's row contiguous, as the forward gathers it and as
 * decoder-norm scales it); the host reads them only on {@link #gradients}, {@link #exportTo} and writes them on
 * {@link #importFrom}. A step moves x and t to the device, and the codes, y and the decoder-norm row norms back.
 *
 * <p>The sparse expert gradients (rows of {@code gate}, {@code gate_bias} and C; for a TC the rows of
 * {@code W_dec}) are a segmented reduction without atomics: the host counting-sorts the (token, slot) pairs of the
 * codes by expert, in token order, and one work-item per (expert, column) sums its expert's pairs. Every element
 * of every result is thus summed by one work-item in a fixed order: a step is bit-reproducible run to run on one
 * device (not across devices or drivers). Decoder-norm, the projection and AdamW compute in double exactly as
 * {@link DecoderNorm} and {@link AdamW#updateRange} do, so the device needs {@code cl_khr_fp64}.
 *
 * <p>Ownership: the kernels own a context, queue, program and buffers, all released on {@link #close()} (reverse
 * order of creation); the caller owns the model. Not thread-safe.
 */
final class OpenClTrainingKernels implements TrainingKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** train.cl's PRODUCT_TILE: strided_product's work-groups are PRODUCT_TILE × PRODUCT_TILE. */
    private static final int PRODUCT_TILE = 16;

    private final MxdModel model;
    private final MxdConfig cfg;
    private final int in, hidden, out, k, units;
    private final boolean mxd, glu, skip;
    private final ClObjects objects = new ClObjects();
    private final ClQueue cl;
    private final CodeSelection selection;
    private final long product, columnSums, activateHidden, reluScores, outputRows, outputGradient, codeDots,
            scatterCodes, sparseRows, activationGradient, rowDots, scaleRows, projectRows, adamw, gather, zero;
    /** Per trainable tensor (checkpoint name): value, gradient, first and second moment. */
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final ClQueue.Scratch x, t, perToken, h, u, z, g, scores, base, mBuf, skipOut, y, dy, dBase, dm, dz, dh,
            du, codeIdx, codeVal, codeGrad, start, pairs, rowSums, coefficients;
    private boolean closed;

    /** The device buffers of one trainable tensor; {@code transposed} for C, stored as W_condᵀ. */
    private record Param(String name, long value, long grad, long m, long v, int count, int rows, int cols,
                         boolean transposed) {
    }

    /**
     * @throws ClBuildException        when the device's compiler rejects the kernels (with its log), such as a
     *                                 device without double precision
     * @throws OpenClLayer.GroupTooLargeException when the TopK or the product cannot run with their work-group size
     * @throws ClException             when another OpenCL call fails; nothing created outlives the call
     */
    OpenClTrainingKernels(MxdModel model, ClDevice device, KernelGeometry geometry) {
        this.model = Objects.requireNonNull(model, "model");
        model.requireOpen("train on backend " + OpenClBackend.NAME);
        this.cfg = model.config();
        this.in = cfg.inputDim();
        this.hidden = cfg.hiddenDim();
        this.out = cfg.outputDim();
        this.k = cfg.k();
        this.mxd = cfg.kind() == Kind.MXD;
        this.units = mxd ? cfg.experts() : hidden;
        this.glu = cfg.glu();
        this.skip = cfg.skip();
        try {
            cl = new ClQueue(objects, device);
            boolean listsLocal = geometry.topkListsFitLocal(k, device.localMemBytes());
            long program = KernelProgram.build(objects, cl.context(), device,
                    KernelProgram.sources(KernelProgram.TRAINING_SOURCES),
                    KernelProgram.trainingOptions(geometry, cfg, listsLocal));
            selection = new CodeSelection(cl, device, geometry, program, listsLocal, objects);
            product = KernelProgram.kernel(objects, program, "strided_product");
            cl.requireGroupSize(product, "strided_product", PRODUCT_TILE * PRODUCT_TILE);
            columnSums = KernelProgram.kernel(objects, program, "column_sums");
            activateHidden = KernelProgram.kernel(objects, program, "activate_hidden");
            reluScores = KernelProgram.kernel(objects, program, "relu_scores");
            outputRows = KernelProgram.kernel(objects, program, "output_rows");
            outputGradient = KernelProgram.kernel(objects, program, "output_gradient");
            codeDots = KernelProgram.kernel(objects, program, "code_dots");
            scatterCodes = KernelProgram.kernel(objects, program, "scatter_codes");
            sparseRows = KernelProgram.kernel(objects, program, "sparse_rows");
            activationGradient = KernelProgram.kernel(objects, program, "activation_gradient");
            rowDots = KernelProgram.kernel(objects, program, "row_dots");
            scaleRows = KernelProgram.kernel(objects, program, "scale_rows");
            projectRows = KernelProgram.kernel(objects, program, "project_rows");
            adamw = KernelProgram.kernel(objects, program, "adamw");
            gather = KernelProgram.kernel(objects, program, "gather_rows");
            zero = KernelProgram.kernel(objects, program, "zero_fill");
            x = cl.scratch("x [T, I]");
            t = cl.scratch("t [T, O]");
            perToken = cl.scratch("2/(T·O·‖t‖) [T]");
            h = cl.scratch("h [T, H]");
            u = cl.scratch("u [T, H]");
            z = cl.scratch("z [T, H]");
            g = cl.scratch("gate pre-activations [T, N]");
            scores = cl.scratch("relu(gate) [T, N]");
            base = cl.scratch("base [T, O]");
            mBuf = cl.scratch("m [T, O]");
            skipOut = cl.scratch("skip [T, O]");
            y = cl.scratch("y [T, O]");
            dy = cl.scratch("dy [T, O]");
            dBase = cl.scratch("dbase [T, O]");
            dm = cl.scratch("dm [T, O]");
            dz = cl.scratch("dz [T, H]");
            dh = cl.scratch("dh [T, H]");
            du = cl.scratch("du [T, H]");
            codeIdx = cl.scratch("code indices [T, K]");
            codeVal = cl.scratch("code values [T, K]");
            codeGrad = cl.scratch("code gradients [T, K]");
            start = cl.scratch("pairs per unit, start [units + 1]");
            pairs = cl.scratch("(token, slot) pairs by unit [T·K]");
            rowSums = cl.scratch("decoder row sums [rows] (double)");
            coefficients = cl.scratch("AdamW coefficients [6] (double)");
            Map<String, long[]> shapes = cfg.tensorShapes();
            for (String name : cfg.trainableTensorNames()) {
                long[] shape = shapes.get(name);
                int count = Math.toIntExact(Tensor.elementCount(shape));
                boolean transposed = name.equals("W_cond");
                int rows = shape.length == 2 ? (int) shape[transposed ? 1 : 0] : 1;
                int cols = shape.length == 2 ? (int) shape[transposed ? 0 : 1] : count;
                long bytes = (long) count * Float.BYTES;
                if (bytes > device.maxAllocBytes()) {
                    throw new MxdBackendException("tensor '" + name + "' needs " + bytes + " bytes, more than the "
                            + device.maxAllocBytes() + " bytes OpenCL device " + device.name() + " allows in one buffer");
                }
                params.put(name, new Param(name, buffer(bytes, name), buffer(bytes, "d" + name),
                        buffer(bytes, name + " first moment"), buffer(bytes, name + " second moment"), count, rows,
                        cols, transposed));
            }
            importFrom(model, null, null);
        } catch (RuntimeException | Error e) {
            objects.closeAfter(e);
            throw e;
        }
    }

    private long buffer(long bytes, String label) {
        return objects.buffer(cl.context(), CL_MEM_READ_WRITE, Math.max(bytes, Float.BYTES), 0, label);
    }

    @Override
    public MxdModel model() {
        return model;
    }

    // ---- parameter passes --------------------------------------------------------------------------------------

    @Override
    public void normaliseDecoder() {
        open();
        Param w = decoderRows();
        double[] sums = rowSums(w.value, w.value, w);
        for (int n = 0; n < w.rows; n++) {
            DecoderNorm.checkNorm(cfg, n, Math.sqrt(sums[n]));
        }
        new ClQueue.Args(scaleRows, "scale_rows").buffers(w.value, rowSums.handle()).ints(w.rows, w.cols);
        launch(scaleRows, "scale_rows", w.cols, w.rows);
    }

    /** Σ_o a[n, o]·b[n, o] per decoder row in double, left on the device in {@link #rowSums} and returned. */
    private double[] rowSums(long a, long b, Param w) {
        long sums = rowSums.ensure((long) w.rows * Double.BYTES);
        new ClQueue.Args(rowDots, "row_dots").buffers(a, b, sums).ints(w.rows, w.cols);
        launch(rowDots, "row_dots", w.rows, 1);
        double[] host = new double[w.rows];
        cl.download(sums, MemorySegment.ofArray(host));
        return host;
    }

    private Param decoderRows() {
        return params.get(mxd ? "W_cond" : "W_dec");
    }

    @Override
    public void update(AdamW.Coefficients c) {
        open();
        Objects.requireNonNull(c, "coefficients");
        long coef = coefficients.ensure(6L * Double.BYTES);
        cl.upload(coef, MemorySegment.ofArray(new double[] {c.decay(), c.beta1(), c.beta2(), c.stepSize(),
                c.bc2Sqrt(), c.eps()}));
        for (Param p : params.values()) {
            new ClQueue.Args(adamw, "adamw").buffers(p.value, p.grad, p.m, p.v, coef).ints(p.count);
            launch(adamw, "adamw", p.count, 1);
        }
    }

    // ---- the step ----------------------------------------------------------------------------------------------

    @Override
    public void forwardBackward(MemorySegment xs, MemorySegment ts, int tokens, MemorySegment ys, Codes codes,
                                boolean project) {
        check(xs, tokens, ys, codes);
        BatchArguments.requireFloats("t", ts, (long) tokens * out);
        float[] factors = lossFactors(ts, tokens);
        cl.upload(perToken.ensure((long) tokens * Float.BYTES), MemorySegment.ofArray(factors));
        cl.upload(t.ensure((long) tokens * out * Float.BYTES), ts.asSlice(0, (long) tokens * out * Float.BYTES));
        int[] index = runForward(xs, tokens, ys, codes);
        backward(tokens, index, project);
    }

    @Override
    public void forward(MemorySegment xs, int tokens, MemorySegment ys, Codes codes) {
        check(xs, tokens, ys, codes);
        runForward(xs, tokens, ys, codes);
    }

    /**
     * {@code 2/(T·O·‖t‖)} per target row, ‖t‖ in double rounded once (as the cpu backend); a zero or non-finite norm
     * is an error naming the row.
     */
    private float[] lossFactors(MemorySegment ts, int tokens) {
        double scale = 2.0 / ((double) tokens * out);
        float[] f = new float[tokens];
        for (int r = 0; r < tokens; r++) {
            double s = 0;
            for (long o = (long) r * out, end = o + out; o < end; o++) {
                float v = ts.getAtIndex(F32, o);
                s += (double) v * v;
            }
            double norm = Math.sqrt(s);
            if (!(norm > 0) || Double.isInfinite(norm)) {
                throw new IllegalArgumentException("target row " + r + " of the batch has norm " + norm
                        + ": the normalised loss divides by ‖t‖, so a zero (or non-finite) target row is not allowed");
            }
            f[r] = (float) (scale / (float) norm);
        }
        return f;
    }

    /** The forward pass keeping h, u, z, g, base, m on the device; y and the codes to the host. */
    private int[] runForward(MemorySegment xs, int tokens, MemorySegment ys, Codes codes) {
        long xb = x.ensure((long) tokens * in * Float.BYTES);
        cl.upload(xb, xs.asSlice(0, (long) tokens * in * Float.BYTES));
        int th = tokens * hidden;
        long hb = h.ensure((long) th * Float.BYTES);
        long ub = glu ? u.ensure((long) th * Float.BYTES) : 0;
        long zb = z.ensure((long) th * Float.BYTES);
        product(xb, in, 1, value("W_enc"), hidden, 1, value("b_enc"), hb, tokens, hidden, in);
        if (glu) {
            product(xb, in, 1, value("W_glu.weight"), 1, in, value("W_glu.bias"), ub, tokens, hidden, in);
        }
        new ClQueue.Args(activateHidden, "activate_hidden").buffers(hb, ub, zb).ints(th);
        launch(activateHidden, "activate_hidden", th, 1);

        long idx = codeIdx.ensure((long) tokens * k * Integer.BYTES);
        long val = codeVal.ensure((long) tokens * k * Float.BYTES);
        long bb = 0;
        if (mxd) {
            int tn = tokens * units;
            long gb = g.ensure((long) tn * Float.BYTES);
            long sb = scores.ensure((long) tn * Float.BYTES);
            product(xb, in, 1, value("gate"), 1, in, value("gate_bias"), gb, tokens, units, in);
            new ClQueue.Args(reluScores, "relu_scores").buffers(gb, sb).ints(tn);
            launch(reluScores, "relu_scores", tn, 1);
            selection.select(tokens, sb, 0, units, k, 0, 0, idx, val);
            bb = base.ensure((long) tokens * out * Float.BYTES);
            product(zb, hidden, 1, value("W_dec"), out, 1, 0, bb, tokens, out, hidden);
        } else {
            selection.select(tokens, zb, 0, units, k, 0, 0, idx, val);
        }
        long mb = mBuf.ensure((long) tokens * out * Float.BYTES);
        new ClQueue.Args(gather, "gather_rows").buffers(idx, val).ints(k).buffers(value(mxd ? "W_cond" : "W_dec"), mb)
                .ints(tokens, out);
        launch(gather, "gather_rows", out, tokens);
        long sk = 0;
        if (skip) {
            sk = skipOut.ensure((long) tokens * out * Float.BYTES);
            product(xb, in, 1, value("W_skip.weight"), 1, in, 0, sk, tokens, out, in);
        }
        long yb = y.ensure((long) tokens * out * Float.BYTES);
        new ClQueue.Args(outputRows, "output_rows").buffers(bb, mb, sk, value("b_dec_out"), yb).ints(tokens, out);
        launch(outputRows, "output_rows", out, tokens);

        cl.download(yb, ys.asSlice(0, (long) tokens * out * Float.BYTES));
        int[] index = new int[tokens * k];
        cl.download(idx, MemorySegment.ofArray(index));
        MemorySegment.copy(index, 0, codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, 0, index.length);
        cl.download(val, codes.valueSegment().asSlice(0, (long) tokens * k * Float.BYTES));
        return index;
    }

    private void backward(int tokens, int[] index, boolean project) {
        int to = tokens * out;
        long xb = x.handle(), yb = y.handle(), zb = z.handle(), idx = codeIdx.handle(), val = codeVal.handle();
        long dyb = dy.ensure((long) to * Float.BYTES);
        long dBaseB = mxd ? dBase.ensure((long) to * Float.BYTES) : 0;
        long dmB = mxd ? dm.ensure((long) to * Float.BYTES) : 0;
        new ClQueue.Args(outputGradient, "output_gradient").buffers(yb, t.handle(), perToken.handle(),
                mxd ? mBuf.handle() : 0, mxd ? base.handle() : 0, dyb, dBaseB, dmB).ints(tokens, out);
        launch(outputGradient, "output_gradient", out, tokens);
        columnSums(dyb, tokens, out, grad("b_dec_out"));
        if (skip) {
            product(dyb, 1, out, xb, in, 1, 0, grad("W_skip.weight"), out, in, tokens);
        }
        uploadPairs(index, tokens);
        long dots = codeGrad.ensure((long) tokens * k * Float.BYTES);
        int th = tokens * hidden;
        long dzb = dz.ensure((long) th * Float.BYTES);
        Param decoder = decoderRows();
        if (mxd) {
            // dg = (dm·C[n])·[g > 0] per code; then the expert rows of C, gate and gate_bias
            new ClQueue.Args(codeDots, "code_dots").buffers(idx).ints(k).buffers(dmB, value("W_cond")).ints(out)
                    .buffers(g.handle()).ints(units).buffers(dots).ints(tokens);
            launch(codeDots, "code_dots", k, tokens);
            sparseRows(val, dmB, out, grad("W_cond"));
            sparseRows(dots, xb, in, grad("gate"));
            sparseRows(dots, 0, 1, grad("gate_bias"));
            product(zb, 1, hidden, dBaseB, out, 1, 0, grad("W_dec"), hidden, out, tokens);
            product(dBaseB, out, 1, value("W_dec"), 1, out, 0, dzb, tokens, hidden, out);
        } else {
            // dz of the selected units = dy·W_dec[j]; the unit rows of W_dec; dz zero elsewhere
            new ClQueue.Args(codeDots, "code_dots").buffers(idx).ints(k).buffers(dyb, value("W_dec")).ints(out)
                    .buffers(0).ints(units).buffers(dots).ints(tokens);
            launch(codeDots, "code_dots", k, tokens);
            sparseRows(val, dyb, out, grad("W_dec"));
            new ClQueue.Args(zero, "zero_fill").buffers(dzb).ints(th);
            launch(zero, "zero_fill", th, 1);
            new ClQueue.Args(scatterCodes, "scatter_codes").buffers(idx, dots).ints(k).buffers(dzb).ints(hidden, tokens);
            launch(scatterCodes, "scatter_codes", tokens, 1);
        }
        if (project) {
            rowSums(decoder.grad, decoder.value, decoder);
            new ClQueue.Args(projectRows, "project_rows").buffers(decoder.grad, decoder.value, rowSums.handle())
                    .ints(decoder.rows, decoder.cols);
            launch(projectRows, "project_rows", decoder.cols, decoder.rows);
        }
        long dhb = dh.ensure((long) th * Float.BYTES);
        long dub = glu ? du.ensure((long) th * Float.BYTES) : 0;
        new ClQueue.Args(activationGradient, "activation_gradient").buffers(dzb, h.handle(), glu ? u.handle() : 0,
                dhb, dub).ints(th);
        launch(activationGradient, "activation_gradient", th, 1);
        product(xb, 1, in, dhb, hidden, 1, 0, grad("W_enc"), in, hidden, tokens);
        columnSums(dhb, tokens, hidden, grad("b_enc"));
        if (glu) {
            product(dub, 1, hidden, xb, in, 1, 0, grad("W_glu.weight"), hidden, in, tokens);
            columnSums(dub, tokens, hidden, grad("W_glu.bias"));
        }
    }

    /**
     * The (token, slot) pairs p = t·K + j of the codes, counting-sorted by unit (expert, or TC hidden unit) with
     * tokens ascending within a unit, and where each unit's pairs start: the segments of {@code sparse_rows}.
     */
    private void uploadPairs(int[] index, int tokens) {
        int[] begin = new int[units + 1];
        for (int n : index) {
            begin[n + 1]++;
        }
        for (int n = 0; n < units; n++) {
            begin[n + 1] += begin[n];
        }
        int[] next = begin.clone();
        int[] sorted = new int[tokens * k];
        for (int p = 0; p < sorted.length; p++) {
            sorted[next[index[p]]++] = p;
        }
        cl.upload(start.ensure((long) (units + 1) * Integer.BYTES), MemorySegment.ofArray(begin));
        cl.upload(pairs.ensure((long) sorted.length * Integer.BYTES), MemorySegment.ofArray(sorted));
    }

    private void sparseRows(long weight, long src, int cols, long dst) {
        new ClQueue.Args(sparseRows, "sparse_rows").buffers(start.handle(), pairs.handle()).ints(k)
                .buffers(weight, src).ints(cols).buffers(dst).ints(units);
        launch(sparseRows, "sparse_rows", cols, units);
    }

    /** c [rows, cols] = bias + A·B with A[r, d] at a[r·aRs + d·aDs] and B[d, c] at b[d·bDs + c·bCs]. */
    private void product(long a, int aRs, int aDs, long b, int bDs, int bCs, long bias, long c, int rows, int cols,
                         int depth) {
        new ClQueue.Args(product, "strided_product").buffers(a).ints(aRs, aDs).buffers(b).ints(bDs, bCs)
                .buffers(bias, c).ints(rows, cols, depth);
        cl.launch(product, "strided_product", (long) Math.ceilDiv(cols, PRODUCT_TILE) * PRODUCT_TILE,
                (long) Math.ceilDiv(rows, PRODUCT_TILE) * PRODUCT_TILE, PRODUCT_TILE, PRODUCT_TILE);
    }

    private void columnSums(long v, int rows, int cols, long dst) {
        new ClQueue.Args(columnSums, "column_sums").buffers(v).ints(rows, cols).buffers(dst);
        launch(columnSums, "column_sums", cols, 1);
    }

    private void launch(long kernel, String name, long global0, long global1) {
        cl.launch(kernel, name, Math.max(1, global0), Math.max(1, global1), 0, 0);
    }

    private long value(String name) {
        return params.get(name).value;
    }

    private long grad(String name) {
        return params.get(name).grad;
    }

    // ---- to and from the checkpoint layout ---------------------------------------------------------------------

    @Override
    public void gradients(ParameterTensors into) {
        open();
        requireConfig(into, "gradient");
        for (Param p : params.values()) {
            read(p.grad, p, into.tensor(p.name).data());
        }
    }

    @Override
    public void exportTo(MxdModel into, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        open();
        Objects.requireNonNull(into, "model");
        requireModel(into);
        if (firstMoments != null) {
            requireConfig(firstMoments, "first-moment");
        }
        if (secondMoments != null) {
            requireConfig(secondMoments, "second-moment");
        }
        for (Param p : params.values()) {
            read(p.value, p, into.tensor(p.name).data());
            if (firstMoments != null) {
                read(p.m, p, firstMoments.tensor(p.name).data());
            }
            if (secondMoments != null) {
                read(p.v, p, secondMoments.tensor(p.name).data());
            }
        }
    }

    @Override
    public void importFrom(MxdModel from, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        open();
        Objects.requireNonNull(from, "model");
        requireModel(from);
        if (firstMoments != null) {
            requireConfig(firstMoments, "first-moment");
        }
        if (secondMoments != null) {
            requireConfig(secondMoments, "second-moment");
        }
        for (Param p : params.values()) {
            write(from.tensor(p.name).data(), p, p.value);
            if (firstMoments == null) {
                fillZero(p.m, p.count);
            } else {
                write(firstMoments.tensor(p.name).data(), p, p.m);
            }
            if (secondMoments == null) {
                fillZero(p.v, p.count);
            } else {
                write(secondMoments.tensor(p.name).data(), p, p.v);
            }
            fillZero(p.grad, p.count);
        }
    }

    private void fillZero(long buffer, int count) {
        new ClQueue.Args(zero, "zero_fill").buffers(buffer).ints(count);
        launch(zero, "zero_fill", count, 1);
    }

    /** Device buffer to a checkpoint-layout tensor, transposing C back to W_cond [O, N]. */
    private void read(long buffer, Param p, MemorySegment dst) {
        if (!p.transposed) {
            cl.download(buffer, dst.asSlice(0, (long) p.count * Float.BYTES));
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rows = arena.allocate((long) p.count * Float.BYTES, 64);
            cl.download(buffer, rows);
            OpenClLayer.transpose(rows, p.rows, p.cols, dst);
        }
    }

    /** A checkpoint-layout tensor to a device buffer, W_cond [O, N] as C [N, O]. */
    private void write(MemorySegment src, Param p, long buffer) {
        if (!p.transposed) {
            cl.upload(buffer, src.asSlice(0, (long) p.count * Float.BYTES));
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rows = arena.allocate((long) p.count * Float.BYTES, 64);
            OpenClLayer.transpose(src, p.cols, p.rows, rows);
            cl.upload(buffer, rows);
        }
    }

    // ---- checks and lifetime -----------------------------------------------------------------------------------

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cl.finishAndClose();
    }

    private void open() {
        if (closed) {
            throw new IllegalStateException("these opencl training kernels are closed");
        }
    }

    private void requireModel(MxdModel other) {
        if (!other.config().equals(cfg)) {
            throw new IllegalArgumentException("the model is of another config (" + other.config().kind() + " "
                    + other.config().inputDim() + "x" + other.config().hiddenDim() + "), not these kernels'");
        }
    }

    private void requireConfig(ParameterTensors tensors, String what) {
        BatchArguments.requireConfig(cfg, tensors, what);
    }

    private void check(MemorySegment xs, int tokens, MemorySegment ys, Codes codes) {
        open();
        BatchArguments.check(cfg, xs, tokens, ys, codes, Math.max(Math.max(in, out), Math.max(hidden, units)));
    }
}
