package dev.mxd.opencl;

import dev.mxd.MxdBackendException;

/**
 * The tile shape the kernels are built with (their {@code TILE_*}, {@code WPT_*} and {@code MERGE_GROUP}
 * build options) and the launch sizes that follow from it.
 *
 * @param tileM      rows (tokens) of C per work-group
 * @param tileN      columns of C per work-group
 * @param tileK      depth staged through local memory per step
 * @param wptM       rows per work-item
 * @param wptN       columns per work-item
 * @param mergeGroup the largest work-group of the TopK merge (a power of two)
 */
record KernelGeometry(int tileM, int tileN, int tileK, int wptM, int wptN, int mergeGroup) {

    /** Bytes a device reserves for itself out of local memory (kernel arguments on some GPUs). */
    private static final long LOCAL_RESERVE = 1024;

    KernelGeometry {
        if (wptM < 1 || wptN < 1 || tileM % wptM != 0 || tileN % wptN != 0 || (tileM / wptM) * (tileN / wptN) < tileM
                || tileK < 1 || Integer.bitCount(mergeGroup) != 1) {
            throw new IllegalArgumentException("inconsistent kernel geometry " + this);
        }
    }

    /** 64 × 64 tiles, 16 deep, 256 work-items of 4 × 4 outputs: the usual shape for a GPU. */
    static final KernelGeometry WIDE = new KernelGeometry(64, 64, 16, 4, 4, 64);
    /**
     * 64 × 64 tiles, 16 deep, 64 work-items of 8 × 8 outputs: for CPU devices, where a work-group runs as a
     * loop over its work-items and fewer, fatter work-items cost less (about twice the speed of {@link #WIDE}
     * on PoCL), and for devices that take fewer than 256 work-items per group.
     */
    static final KernelGeometry FAT = new KernelGeometry(64, 64, 16, 8, 8, 64);

    /**
     * {@link #WIDE} for GPUs and accelerators that take 256 work-items per group, else {@link #FAT}.
     *
     * @throws MxdBackendException when the device takes fewer than 64 work-items per group
     */
    static KernelGeometry forDevice(ClDevice device) {
        if (device.maxGroupSize() >= WIDE.groupSize() && !device.isCpu()) {
            return WIDE;
        }
        if (device.maxGroupSize() >= FAT.groupSize()) {
            return FAT;
        }
        throw new MxdBackendException("OpenCL device " + device.name() + " takes only " + device.maxGroupSize()
                + " work-items per group; the kernels need at least " + FAT.groupSize());
    }

    /**
     * What {@code build} makes with {@link #forDevice}'s geometry, or with {@link #FAT} when the device's compiler caps
     * the kernels below the wider geometry's work-group size (registers).
     *
     * @throws OpenClLayer.GroupTooLargeException when even {@link #FAT}'s group is too large
     */
    static <T> T buildFitting(ClDevice device, java.util.function.Function<KernelGeometry, T> build) {
        KernelGeometry geometry = forDevice(device);
        try {
            return build.apply(geometry);
        } catch (OpenClLayer.GroupTooLargeException e) {
            if (geometry == FAT) {
                throw e;
            }
            return build.apply(FAT);
        }
    }

    int localM() {
        return tileM / wptM;
    }

    int localN() {
        return tileN / wptN;
    }

    /** Work-items per GEMM and TopK work-group. */
    int groupSize() {
        return localM() * localN();
    }

    /** Whether {@code partial_topk} can keep its TILE_M running lists of k pairs in local memory. */
    boolean topkListsFitLocal(int k, long localMemBytes) {
        long tiles = (long) tileK * tileM + (long) tileK * tileN + (long) tileM * (tileN + 1);
        long lists = (long) tileM * k * 2;
        return (tiles + lists) * Float.BYTES <= localMemBytes - LOCAL_RESERVE;
    }

    /** The {@code -D} options of this geometry. */
    String options() {
        return "-DTILE_M=" + tileM + " -DTILE_N=" + tileN + " -DTILE_K=" + tileK + " -DWPT_M=" + wptM
                + " -DWPT_N=" + wptN + " -DMERGE_GROUP=" + mergeGroup;
    }
}
