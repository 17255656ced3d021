package dev.mxd.opencl;

/**
 * {@code clBuildProgram} rejected the kernel sources: the message carries the build options and the
 * compiler's build log, which names the file and line of each error.
 */
public final class ClBuildException extends ClException {
    private final String buildLog;

    ClBuildException(int errorCode, String device, String options, String buildLog) {
        super("clBuildProgram", errorCode, "the OpenCL C compiler of " + device + " rejected the kernels (options: "
                + options + "); build log:\n" + buildLog);
        this.buildLog = buildLog;
    }

    /** The compiler's build log, as the driver returned it. */
    public String buildLog() {
        return buildLog;
    }
}
