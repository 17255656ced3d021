package dev.mxd.opencl;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import org.lwjgl.opencl.CL;
import org.lwjgl.system.Configuration;

/**
 * Loads the OpenCL ICD loader into LWJGL, once per process.
 *
 * <p>LWJGL opens the unversioned {@code libOpenCL.so}, which on Debian and Ubuntu only the development
 * package ({@code ocl-icd-opencl-dev}) installs; a user machine usually has just {@code libOpenCL.so.1}.
 * So on Linux, unless the user named a library ({@code -Dorg.lwjgl.opencl.libname}), the first name that
 * {@code dlopen} accepts is handed to LWJGL before its first use.
 */
final class ClLibrary {
    /** Names tried on Linux, in order, when the user named none. */
    static final List<String> LINUX_NAMES = List.of("libOpenCL.so", "libOpenCL.so.1");

    private static String failure;
    private static boolean attempted;

    private ClLibrary() {
    }

    /**
     * Makes LWJGL's OpenCL bindings usable.
     *
     * @return null when they are, else why not (the loader's message and the fix); the outcome of the first
     *         call is kept, since LWJGL loads the library once per process
     */
    static synchronized String load() {
        if (!attempted) {
            attempted = true;
            failure = tryLoad();
        }
        return failure;
    }

    private static String tryLoad() {
        try {
            boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
            if (Configuration.OPENCL_LIBRARY_NAME.get() == null && linux) {
                String name = firstLoadable(LINUX_NAMES, ClLibrary::dlopens);
                if (name == null) {
                    return "no OpenCL library: dlopen found none of " + LINUX_NAMES + " (install an OpenCL ICD loader"
                            + " such as Debian's ocl-icd-libopencl1 and a driver such as pocl-opencl-icd, or name the"
                            + " library with -Dorg.lwjgl.opencl.libname)";
                }
                Configuration.OPENCL_LIBRARY_NAME.set(name);
            }
            if (CL.getFunctionProvider() == null) {
                return "no OpenCL library: LWJGL's OpenCL bindings are not initialised (org.lwjgl.opencl.explicitInit"
                        + " is set but CL.create() was not called)";
            }
            return null;
        } catch (LinkageError | RuntimeException e) {
            // LWJGL's own natives or the OpenCL library failed to load (the first failure of CL's static
            // initialiser comes wrapped; later uses of CL see NoClassDefFoundError)
            Throwable cause = e instanceof ExceptionInInitializerError && e.getCause() != null ? e.getCause() : e;
            String name = Configuration.OPENCL_LIBRARY_NAME.get();
            return "no OpenCL library: LWJGL could not load " + (name == null ? "the OpenCL library" : name) + ": " + cause;
        }
    }

    /** The first of {@code candidates} that {@code loadable} accepts, else null. */
    static String firstLoadable(List<String> candidates, Predicate<String> loadable) {
        return candidates.stream().filter(loadable).findFirst().orElse(null);
    }

    /** Whether {@code dlopen} finds {@code name} by the system's search rules (the library is closed again). */
    @SuppressWarnings("restricted") // loading a native library is the point; LWJGL needs the same access
    static boolean dlopens(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
