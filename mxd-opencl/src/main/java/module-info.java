/**
 * The {@code opencl} backend (OpenCL C 1.2 kernels driven through LWJGL). It exports nothing: it is reached through
 * {@link dev.mxd.Backends} as a {@link dev.mxd.Backend} service.
 */
module dev.mxd.opencl {
    requires dev.mxd;
    requires org.lwjgl;
    requires org.lwjgl.opencl;

    provides dev.mxd.Backend with dev.mxd.opencl.OpenClBackend;
}
