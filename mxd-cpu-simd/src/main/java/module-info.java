/**
 * The {@code cpu} backend (Vector API kernels over the Java heap and MemorySegments). It exports nothing: it is
 * reached through {@link dev.mxd.Backends} as a {@link dev.mxd.Backend} service.
 */
module dev.mxd.cpu {
    requires dev.mxd;
    requires jdk.incubator.vector;

    provides dev.mxd.Backend with dev.mxd.cpu.CpuBackend;
}
