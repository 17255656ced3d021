/**
 * The OpenCL backend of mxd ({@code -Dmxd.backend=opencl}): OpenCL C 1.2 kernels driven through LWJGL.
 *
 * <p>Where things are:
 * <ul>
 *   <li>{@link dev.mxd.opencl.OpenClBackend}: the {@link dev.mxd.Backend} (probing, device choice, load);</li>
 *   <li>{@code OpenClLayer}: one loaded layer, its weights on the device and the order of kernel launches;</li>
 *   <li>{@code OpenClDenseOps}: the backend's {@link dev.mxd.DenseOps} (a dense layer on gemm.cl's encoder, and
 *       attention.cl's {@code self_attention}), for models outside mxd's layers;</li>
 *   <li>{@code ClQueue}: a context and in-order queue with launches, kernel arguments, copies and scratch buffers,
 *       shared by the two;</li>
 *   <li>{@code src/main/resources/dev/mxd/opencl/}: the kernels. {@code gemm.cl} holds the tiled SGEMM and
 *       its two epilogues ({@code encoder}: bias, activation, GLU; {@code decoder}: {@code ⊙ m}, skip,
 *       bias); {@code topk.cl} the gate GEMM fused with relu and a per-token running top-K
 *       ({@code partial_topk}) and the merge of the slices ({@code merge_topk}), also used over z for a TC
 *       or STC; {@code gather.cl} the sparse {@code Cᵀa} ({@code gather_rows}).</li>
 * </ul>
 *
 * <p>Properties: {@code mxd.opencl.device} (an index into every device of every platform, or a
 * case-insensitive part of a device name; default the first GPU, else the first device);
 * {@code org.lwjgl.opencl.libname} (LWJGL's own: the OpenCL library to load; without it mxd tries
 * {@code libOpenCL.so}, then {@code libOpenCL.so.1}). Numerics: float32 with float accumulation, no
 * relaxed-math build options; within DESIGN §6 of the float64 oracle.
 */
package dev.mxd.opencl;
