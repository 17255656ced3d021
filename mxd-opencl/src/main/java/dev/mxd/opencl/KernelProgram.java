package dev.mxd.opencl;

import static org.lwjgl.opencl.CL10.CL_PROGRAM_BUILD_LOG;
import static org.lwjgl.opencl.CL10.clBuildProgram;
import static org.lwjgl.opencl.CL10.clCreateKernel;
import static org.lwjgl.opencl.CL10.clCreateProgramWithSource;
import static org.lwjgl.opencl.CL10.clGetProgramBuildInfo;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * The kernel sources ({@code src/main/resources/dev/mxd/opencl/*.cl}), their build options and the one
 * path by which every program is built, so a compiler error always comes back with its build log.
 */
final class KernelProgram {
    /** The sources of the backend, in compilation order (topk.cl uses the tile product of gemm.cl). */
    static final List<String> SOURCES = List.of("gemm.cl", "gather.cl", "topk.cl");
    /** The training step's sources: the forward's (activate, gather_rows, the TopK) and the training kernels. */
    static final List<String> TRAINING_SOURCES = List.of("gemm.cl", "gather.cl", "topk.cl", "train.cl");
    /** The sources of {@link OpenClDenseOps}' dense layer: gemm.cl's encoder, without GLU. */
    static final List<String> DENSE_SOURCES = List.of("gemm.cl");
    /** The sources of {@link OpenClDenseOps}' self-attention. */
    static final List<String> ATTENTION_SOURCES = List.of("attention.cl");
    /** The build options of attention.cl. */
    static final String ATTENTION_OPTIONS = "-cl-std=CL1.2";

    /** A named source text. */
    record Source(String name, String text) {
    }

    private KernelProgram() {
    }

    /** The backend's sources, read from the class path. */
    static List<Source> backendSources() {
        return sources(SOURCES);
    }

    /** The sources of these names (in {@code src/main/resources/dev/mxd/opencl/}), read from the class path. */
    static List<Source> sources(List<String> names) {
        List<Source> sources = new ArrayList<>();
        for (String name : names) {
            try (InputStream in = KernelProgram.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IllegalStateException("kernel source dev/mxd/opencl/" + name + " is missing from the class path");
                }
                sources.add(new Source(name, new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read kernel source dev/mxd/opencl/" + name, e);
            }
        }
        return sources;
    }

    /**
     * The build options for a layer of {@code config}: OpenCL C 1.2, the tile geometry, and the switches of
     * the kernels' epilogues. Never {@code -cl-fast-relaxed-math} or {@code -cl-mad-enable}: the layer must
     * match the float64 oracle (DESIGN §6).
     */
    static String options(KernelGeometry geometry, MxdConfig config, boolean topkListsLocal) {
        return options(geometry, config, config.kind() == Kind.MXD, topkListsLocal);
    }

    /**
     * The build options of the training program ({@link #TRAINING_SOURCES}) for {@code config}: those of
     * {@link #options} with MXD=0, since the training forward writes the gate scores itself and partial_topk reads
     * them as it reads z.
     */
    static String trainingOptions(KernelGeometry geometry, MxdConfig config, boolean topkListsLocal) {
        return options(geometry, config, false, topkListsLocal);
    }

    private static String options(KernelGeometry geometry, MxdConfig config, boolean mxd, boolean topkListsLocal) {
        return "-cl-std=CL1.2 " + geometry.options() + " -DACTIVATION=" + activationMacro(config.activation())
                + " -DGLU=" + bit(config.glu()) + " -DSKIP=" + bit(config.skip()) + " -DMXD=" + bit(mxd)
                + " -DTOPK_LISTS_LOCAL=" + bit(topkListsLocal);
    }

    /**
     * The build options of a dense layer {@code y = act(x·W + b)} on gemm.cl's {@code encoder}: GLU, skip and MxD
     * off, {@code ACT_NONE} for a null activation. No relaxed math, as for {@link #options}.
     */
    static String denseOptions(KernelGeometry geometry, Activation activation) {
        return "-cl-std=CL1.2 " + geometry.options() + " -DACTIVATION="
                + (activation == null ? "ACT_NONE" : activationMacro(activation)) + " -DGLU=0 -DSKIP=0 -DMXD=0";
    }

    private static String activationMacro(Activation a) {
        return switch (a) {
            case RELU -> "ACT_RELU";
            case GELU -> "ACT_GELU";
            case GELU_TANH -> "ACT_GELU_TANH";
            case SIGMOID -> "ACT_SIGMOID";
            case SILU -> "ACT_SILU";
        };
    }

    private static int bit(boolean b) {
        return b ? 1 : 0;
    }

    /**
     * Creates and builds a program for {@code device} from {@code sources}; {@code objects} owns the program
     * from the moment it exists, so a failed build leaks nothing once the caller closes them. Each source is
     * preceded by a {@code #line} directive, so the build log names the file and line of an error.
     *
     * @throws ClBuildException with the compiler's build log when the build fails
     * @throws ClException when another call fails
     */
    static long build(ClObjects objects, long context, ClDevice device, List<Source> sources, String options) {
        CharSequence[] texts = new CharSequence[sources.size()];
        for (int i = 0; i < texts.length; i++) {
            texts[i] = "#line 1 \"" + sources.get(i).name() + "\"\n" + sources.get(i).text() + "\n";
        }
        long program;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            program = clCreateProgramWithSource(context, texts, err);
            ClException.check(err.get(0), "clCreateProgramWithSource");
        }
        objects.add(ClObjects.Kind.PROGRAM, program, "program");
        int err = clBuildProgram(program, device.device(), options, null, 0);
        if (err != 0) {
            String log = buildLog(program, device.device());
            throw new ClBuildException(err, device.name(), options, log.isBlank() ? "(empty)" : log.strip());
        }
        return program;
    }

    /** Creates kernel {@code name} of a built program, owned by {@code objects}. */
    static long kernel(ClObjects objects, long program, String name) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long kernel = clCreateKernel(program, name, err);
            ClException.check(err.get(0), "clCreateKernel(" + name + ")");
            return objects.add(ClObjects.Kind.KERNEL, kernel, name);
        }
    }

    private static String buildLog(long program, long device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size),
                    "clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG)");
            ByteBuffer log = MemoryUtil.memAlloc((int) Math.max(1, size.get(0)));
            try {
                ClException.check(clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log, null),
                        "clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG)");
                int n = (int) size.get(0);
                return MemoryUtil.memUTF8(log, Math.max(0, n > 0 && log.get(n - 1) == 0 ? n - 1 : n));
            } finally {
                MemoryUtil.memFree(log);
            }
        }
    }
}
