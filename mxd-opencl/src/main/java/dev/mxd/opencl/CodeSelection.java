package dev.mxd.opencl;

/**
 * The TopK of topk.cl on the device: {@code partial_topk} over slices of the columns, then {@code merge_topk} when
 * there is more than one slice. Used by the layer's encode (scores from the fused gate product, or z) and by the
 * training forward (scores it wrote itself). The kernels and the partial-list scratch belong to the caller's
 * {@link ClObjects}; not thread-safe.
 */
final class CodeSelection {
    /** Upper bound on column slices, so the merge's cursors fit in 4 KiB of local memory. */
    private static final int MAX_SLICES = 1024;

    private final ClQueue cl;
    private final ClDevice device;
    private final KernelGeometry geometry;
    private final boolean listsLocal;
    private final long partialTopk, mergeTopk;
    private final ClQueue.Scratch partVal, partIdx;

    /**
     * @param program a program built from {@link KernelProgram#backendSources()} (or more) with {@code listsLocal}
     *                as its {@code TOPK_LISTS_LOCAL}
     * @throws OpenClLayer.GroupTooLargeException when the device cannot run the kernels with the geometry's groups
     */
    CodeSelection(ClQueue cl, ClDevice device, KernelGeometry geometry, long program, boolean listsLocal,
                  ClObjects objects) {
        this.cl = cl;
        this.device = device;
        this.geometry = geometry;
        this.listsLocal = listsLocal;
        this.partialTopk = KernelProgram.kernel(objects, program, "partial_topk");
        this.mergeTopk = KernelProgram.kernel(objects, program, "merge_topk");
        cl.requireGroupSize(partialTopk, "partial_topk", geometry.groupSize());
        cl.requireGroupSize(mergeTopk, "merge_topk", geometry.mergeGroup());
        this.partIdx = cl.scratch("partial top-K indices [T, slices, K]");
        this.partVal = cl.scratch("partial top-K values [T, slices, K]");
    }

    /**
     * Enqueues codes [tokens, k] into {@code idx}/{@code val}: the top k of {@code scores} [tokens, cols] when
     * {@code depth} is 0, else (a program built with MXD=1) of relu(scores·gateᵀ + gateBias) with scores = x
     * [tokens, depth] and {@code gateT} [depth, cols].
     */
    void select(int tokens, long scores, int depth, int cols, int k, long gateT, long gateBias, long idx, long val) {
        int blocks = Math.ceilDiv(tokens, geometry.tileM());
        int chunks = Math.ceilDiv(cols, geometry.tileN());
        // Enough work-groups to fill the device: split the columns into slices when there are few token blocks.
        int target = Math.max(16, 8 * device.computeUnits());
        int slices = Math.clamp(Math.ceilDiv(target, blocks), 1, Math.min(chunks, MAX_SLICES));
        int chunksPerSlice = Math.ceilDiv(chunks, slices);
        slices = Math.ceilDiv(chunks, chunksPerSlice);
        long partValues = slices == 1 ? val : partVal.ensure((long) tokens * slices * k * Float.BYTES);
        long partIndices = slices == 1 ? idx : partIdx.ensure((long) tokens * slices * k * Integer.BYTES);

        ClQueue.Args args = new ClQueue.Args(partialTopk, "partial_topk").buffers(scores, gateT, gateBias)
                .ints(tokens, depth, cols, k, chunksPerSlice * geometry.tileN()).buffers(partValues, partIndices);
        if (listsLocal) {
            args.local((long) geometry.tileM() * k * Float.BYTES).local((long) geometry.tileM() * k * Integer.BYTES);
        }
        cl.launch(partialTopk, "partial_topk", (long) slices * geometry.localN(), (long) blocks * geometry.localM(),
                geometry.localN(), geometry.localM());

        if (slices > 1) {
            int group = Math.min(geometry.mergeGroup(), Integer.highestOneBit(slices - 1) << 1);
            new ClQueue.Args(mergeTopk, "merge_topk").buffers(partValues, partIndices).ints(slices, k).buffers(val, idx)
                    .local((long) slices * Integer.BYTES);
            cl.launch(mergeTopk, "merge_topk", (long) tokens * group, 1, group, 1);
        }
    }
}
